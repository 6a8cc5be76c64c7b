// Latency samples to percentiles: a growable buffer of milliseconds with an exact nearest-rank summary, and a mergeable histogram for millions of samples.

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

/** Bins of the mergeable histogram: 0.1 ms wide up to 2 s, then 10 ms wide up to 120 s, then one overflow bin. */
const FINE_WIDTH_MS = 0.1;
const FINE_BINS = 20_000;
const COARSE_WIDTH_MS = 10;
const COARSE_BINS = 11_800;
const HISTOGRAM_BINS = FINE_BINS + COARSE_BINS + 1;

/** A histogram's state as plain data, to send over IPC and merge. */
export interface HistogramData {
  readonly counts: number[];
  readonly count: number;
  readonly sumMs: number;
  readonly maxMs: number;
  readonly minMs: number;
}

/**
 * Latencies (ms) in fixed bins, for millions of samples spread over several processes: constant memory,
 * mergeable, percentiles to within one bin (0.1 ms below 2 s, 10 ms above). Negative samples count in the
 * first bin (minMs keeps the truth).
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(HISTOGRAM_BINS);
  private count = 0;
  private sumMs = 0;
  private maxMs = -Infinity;
  private minMs = Infinity;

  record(ms: number): void {
    this.counts[binOf(ms)]! += 1;
    this.count += 1;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    if (ms < this.minMs) this.minMs = ms;
  }

  /** Plain data (finite numbers only: it travels as JSON over IPC). */
  data(): HistogramData {
    const empty = this.count === 0;
    return { counts: Array.from(this.counts), count: this.count, sumMs: this.sumMs, maxMs: empty ? 0 : this.maxMs, minMs: empty ? 0 : this.minMs };
  }

  static merge(parts: readonly HistogramData[]): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const p of parts) {
      if (p.count === 0) continue;
      p.counts.forEach((c, i) => (h.counts[i]! += c));
      h.count += p.count;
      h.sumMs += p.sumMs;
      h.maxMs = Math.max(h.maxMs, p.maxMs);
      h.minMs = Math.min(h.minMs, p.minMs);
    }
    return h;
  }

  /** Nearest-rank percentiles, each the upper edge of the bin holding that rank (capped at the maximum seen). */
  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
    return { count: this.count, p50Ms: this.quantile(0.5), p99Ms: this.quantile(0.99), maxMs: this.maxMs, meanMs: this.sumMs / this.count };
  }

  quantile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BINS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxMs, upperEdge(i));
    }
    return this.maxMs;
  }
}

function binOf(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms < FINE_BINS * FINE_WIDTH_MS) return Math.floor(ms / FINE_WIDTH_MS);
  const coarse = Math.floor((ms - FINE_BINS * FINE_WIDTH_MS) / COARSE_WIDTH_MS);
  return coarse < COARSE_BINS ? FINE_BINS + coarse : HISTOGRAM_BINS - 1;
}

function upperEdge(bin: number): number {
  if (bin < FINE_BINS) return (bin + 1) * FINE_WIDTH_MS;
  if (bin < HISTOGRAM_BINS - 1) return FINE_BINS * FINE_WIDTH_MS + (bin - FINE_BINS + 1) * COARSE_WIDTH_MS;
  return Infinity;
}
