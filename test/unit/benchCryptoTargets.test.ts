// The bench's crypto rows: which scenarios a run schedules, how floor windows become CPU per call, and how the issue 11 targets are judged.
import { floorMeasurement, FloorMeasurement, floorRows } from "../../bench/cryptoFloor";
import { Measurement } from "../../bench/measure";
import { leastDisturbed, leastDisturbedRound } from "../../bench/rounds";
import { scheduledScenarios } from "../../bench/schedule";
import { evaluateCryptoTargets, evaluateTargets, TARGET_CONCURRENCY } from "../../bench/targets";
import { ScenarioName } from "../../bench/workerProtocol";

/** A measurement with the figures the targets read; the rest is zero. */
function measured(scenario: ScenarioName, callsPerSecond: number, daemonCpuPerCallUs: number, concurrency = TARGET_CONCURRENCY): Measurement {
  const latency = { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0 };
  return {
    scenario,
    concurrency,
    window: { calls: 0, errors: 0, firstError: undefined, elapsedMs: 1000, startEpochMs: 0, endEpochMs: 1000, latency, workerCpuMicros: 0, daemonCpuMicros: 0, alsoMeasuredCpuMicros: 0, machineBusyMicros: 0 },
    done: { errorsOutsideWindow: 0, unanswered: 0, acknowledged: [] },
    callsPerSecond,
    daemonCpuPerCallUs,
    workerCpuPerCallUs: 0,
    daemonCores: 0,
    workerCores: 0,
    alsoMeasuredCores: 0,
    otherCores: 0,
  };
}

function nodeFloor(op: FloorMeasurement["op"], cpuPerCallUs: number): FloorMeasurement {
  return { op, implementation: "node", callsPerSecond: 1e6 / cpuPerCallUs, cpuPerCallUs, cores: 1, otherCores: 0 };
}

describe("scheduledScenarios", () => {
  it("puts the ceiling first and ImportSymKey (killed at the end) last when everything runs", () => {
    expect(scheduledScenarios({ keys: true, crypto: ["aesGcmEncrypt", "ecdsaSign", "rsaSign"] })).toEqual([
      "ceiling",
      "getAttribute",
      "findKey",
      "aesGcmEncrypt",
      "ecdsaSign",
      "rsaSign",
      "importSymKey",
    ]);
  });

  it("--only crypto measures the ceiling and the crypto rows the daemon could set up, and no import", () => {
    expect(scheduledScenarios({ keys: false, crypto: ["aesGcmEncrypt", "rsaSign"] })).toEqual(["ceiling", "aesGcmEncrypt", "rsaSign"]);
  });

  it("--only methods leaves the crypto rows out", () => {
    expect(scheduledScenarios({ keys: true, crypto: [] })).toEqual(["ceiling", "getAttribute", "findKey", "importSymKey"]);
  });
});

describe("floorMeasurement", () => {
  it("turns a window into calls/s, CPU per call and the other processes' load", () => {
    const m = floorMeasurement("rsaSign", "node", { calls: 2000, elapsedMs: 2500, cpuMicros: 2_400_000, machineBusyMicros: 3_400_000 });
    expect(m.callsPerSecond).toBeCloseTo(800);
    expect(m.cpuPerCallUs).toBeCloseTo(1200);
    expect(m.cores).toBeCloseTo(0.96);
    expect(m.otherCores).toBeCloseTo(0.4);
  });

  it("never reports negative other load (the two counters tick at different instants)", () => {
    expect(floorMeasurement("ecdsaSign", "softhsm2", { calls: 10, elapsedMs: 1000, cpuMicros: 1_000_000, machineBusyMicros: 990_000 }).otherCores).toBe(0);
  });

  it("has thread-pool and SoftHSM2 rows for the signatures only, and no SoftHSM2 rows without a token", () => {
    expect(floorRows(true)).toEqual([
      { op: "aesGcmEncrypt", implementation: "node" },
      { op: "ecdsaSign", implementation: "node" },
      { op: "ecdsaSign", implementation: "nodeAsync" },
      { op: "ecdsaSign", implementation: "softhsm2" },
      { op: "rsaSign", implementation: "node" },
      { op: "rsaSign", implementation: "nodeAsync" },
      { op: "rsaSign", implementation: "softhsm2" },
    ]);
    expect(floorRows(false).map((r) => r.implementation)).toEqual(["node", "node", "nodeAsync", "node", "nodeAsync"]);
  });
});

describe("the crypto throughput targets (ratio to the ceiling at concurrency 64)", () => {
  const ceiling = measured("ceiling", 2000, 100);
  const scheduled: ScenarioName[] = ["ceiling", "aesGcmEncrypt", "ecdsaSign"];

  it("AES-GCM passes at 0.6 x the ceiling and fails below; ECDSA at 0.4 x", () => {
    const verdicts = evaluateTargets([ceiling, measured("aesGcmEncrypt", 1200, 300), measured("ecdsaSign", 790, 400)], undefined, scheduled);
    expect(verdicts.map((v) => [v.scenario, v.pass])).toEqual([
      ["aesGcmEncrypt", true],
      ["ecdsaSign", false],
    ]);
    expect(verdicts[1]!.actual).toBe("0.40 x");
  });

  it("judges only the scheduled scenarios, and a scheduled one that was not measured fails", () => {
    const verdicts = evaluateTargets([ceiling, measured("aesGcmEncrypt", 1500, 300)], undefined, scheduled);
    expect(verdicts.map((v) => v.scenario)).toEqual(["aesGcmEncrypt", "ecdsaSign"]);
    expect(verdicts.find((v) => v.scenario === "ecdsaSign")!.pass).toBe(false);
  });

  it("uses concurrency 64, not 1", () => {
    const verdicts = evaluateTargets([ceiling, measured("aesGcmEncrypt", 100, 300, 1), measured("aesGcmEncrypt", 1900, 300)], undefined, ["ceiling", "aesGcmEncrypt"]);
    expect(verdicts).toEqual([expect.objectContaining({ scenario: "aesGcmEncrypt", pass: true, actual: "0.95 x" })]);
  });
});

describe("the RSA CPU target (daemon CPU per call vs node:crypto's in the same run)", () => {
  it("passes at 1.3 x node:crypto's CPU per sign and fails above", () => {
    const floors = [nodeFloor("rsaSign", 1000)];
    const at = (us: number) => evaluateCryptoTargets([measured("rsaSign", 500, us)], floors, {});
    expect(at(1300)).toEqual([expect.objectContaining({ scenario: "rsaSign", pass: true, actual: "1.30 x (1300 vs 1000 us)" })]);
    expect(at(1310)).toEqual([expect.objectContaining({ scenario: "rsaSign", pass: false })]);
  });

  it("compares with node:crypto, not with SoftHSM2, and with the row at concurrency 64", () => {
    const floors: FloorMeasurement[] = [{ ...nodeFloor("rsaSign", 1000), implementation: "softhsm2", cpuPerCallUs: 5000 }, nodeFloor("rsaSign", 1000)];
    const verdicts = evaluateCryptoTargets([measured("rsaSign", 300, 5000, 1), measured("rsaSign", 500, 1100)], floors, {});
    expect(verdicts).toEqual([expect.objectContaining({ pass: true, actual: "1.10 x (1100 vs 1000 us)" })]);
  });

  it("fails when the floor or the daemon row is missing", () => {
    expect(evaluateCryptoTargets([measured("rsaSign", 500, 1000)], [], {})[0]!.pass).toBe(false);
    expect(evaluateCryptoTargets([], [nodeFloor("rsaSign", 1000)], {})[0]!.pass).toBe(false);
  });

  it("an operation the daemon could not serve fails with the reason, and is not judged on CPU", () => {
    const verdicts = evaluateCryptoTargets([], [nodeFloor("rsaSign", 1000)], { rsaSign: "UNIMPLEMENTED: not served yet", aesGcmEncrypt: "UNIMPLEMENTED: x" });
    expect(verdicts.map((v) => [v.scenario, v.pass, v.actual])).toEqual([
      ["rsaSign", false, "UNIMPLEMENTED: not served yet"],
      ["aesGcmEncrypt", false, "UNIMPLEMENTED: x"],
    ]);
  });
});

describe("the floor's round", () => {
  const noisy = (scenario: ScenarioName, concurrency: number, otherCores: number): Measurement => ({ ...measured(scenario, 1000, 100, concurrency), otherCores });

  it("is the round leastDisturbed keeps at that concurrency", () => {
    // Two rounds of [ceiling, rsaSign] at x1 and x64: round 1 is quieter at x1, round 2 at x64.
    const all = [noisy("ceiling", 1, 0.1), noisy("rsaSign", 1, 0.1), noisy("ceiling", 64, 0.9), noisy("rsaSign", 64, 0.7), noisy("ceiling", 1, 0.5), noisy("rsaSign", 1, 0.5), noisy("ceiling", 64, 0.2), noisy("rsaSign", 64, 0.4)];
    expect(leastDisturbedRound(all, 4, 1)).toBe(1);
    expect(leastDisturbedRound(all, 4, 64)).toBe(2);
    expect(leastDisturbed(all, 4).filter((m) => m.concurrency === 64)).toEqual(all.slice(6, 8));
    expect(leastDisturbedRound(all, 4, 16)).toBeUndefined();
  });

  it("leaves node:crypto out of the rows after the rounds when the rounds measured it", () => {
    expect(floorRows(true, false).map((r) => r.implementation)).not.toContain("node");
    expect(floorRows(true, false)).toHaveLength(4);
  });
});
