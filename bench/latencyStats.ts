// Latency samples to percentiles: a growable buffer of milliseconds and an exact nearest-rank summary.

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Collects latencies (ms) without per-sample allocation. */
export class LatencyRecorder {
  private samples = new Float64Array(1 << 16);
  private length = 0;

  record(ms: number): void {
    if (this.length === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.length++] = ms;
  }

  reset(): void {
    this.length = 0;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.length).sort();
    const n = sorted.length;
    if (n === 0) return { count: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    return { count: n, p50Ms: nearestRank(sorted, 0.5), p99Ms: nearestRank(sorted, 0.99), maxMs: sorted[n - 1]!, meanMs: sum / n };
  }
}

/** The nearest-rank percentile of an ascending array. */
function nearestRank(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}
