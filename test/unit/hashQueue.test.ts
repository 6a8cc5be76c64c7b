// The password-hash queue: bounded concurrency, round robin across connections, refusals past the per-connection and daemon-wide bounds.
import { HashQueue } from "../../src/hsm/hashQueue";
import { expectHsmError } from "./support/harness";

/** A job the test finishes by hand, recording when it started. */
function controlledJobs(started: string[]) {
  const finishers = new Map<string, () => void>();
  const job = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      finishers.set(name, () => resolve(name));
    });
  const finish = async (name: string): Promise<void> => {
    finishers.get(name)!();
    // Let the queue hand the slot on (a few promise turns, no timers).
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { job, finish };
}

describe("HashQueue", () => {
  test("runs at most hashConcurrency jobs at once", async () => {
    const started: string[] = [];
    const { job, finish } = controlledJobs(started);
    const queue = new HashQueue({ hashConcurrency: 2, perConnection: 10, maxWaiting: 10 });
    const results = ["a1", "a2", "a3", "a4"].map((n) => queue.run("a", job(n)));
    await Promise.resolve();
    expect(started).toEqual(["a1", "a2"]);
    expect(queue.load).toEqual({ running: 2, waiting: 2 });
    await finish("a1");
    expect(started).toEqual(["a1", "a2", "a3"]);
    await finish("a2");
    await finish("a3");
    await finish("a4");
    expect(await Promise.all(results)).toEqual(["a1", "a2", "a3", "a4"]);
    expect(queue.load).toEqual({ running: 0, waiting: 0 });
  });

  test("a connection with one login waits behind one job of a flooding connection, not its whole backlog", async () => {
    const started: string[] = [];
    const { job, finish } = controlledJobs(started);
    const queue = new HashQueue({ hashConcurrency: 1, perConnection: 10, maxWaiting: 100 });
    const flood = Array.from({ length: 8 }, (_, i) => queue.run("flood", job(`f${i}`)));
    const real = queue.run("real", job("real"));
    await Promise.resolve();
    await finish("f0");
    await finish("f1");
    expect(started).toEqual(["f0", "f1", "real"]);
    await finish("real");
    expect(await real).toBe("real");
    for (let i = 2; i < 8; i++) await finish(`f${i}`);
    await Promise.all(flood);
  });

  test("past perConnection logins in progress on one connection: TOO_MANY_LOGINS at once; other connections unaffected", async () => {
    const started: string[] = [];
    const { job, finish } = controlledJobs(started);
    const queue = new HashQueue({ hashConcurrency: 1, perConnection: 2, maxWaiting: 100 });
    const admitted = [queue.run("a", job("a1")), queue.run("a", job("a2"))];
    const err = await expectHsmError(() => queue.run("a", job("a3")), "TOO_MANY_LOGINS");
    expect(err.details).toEqual({ limit: "connection", max_logins: 2 });
    const other = queue.run("b", job("b1"));
    await finish("a1");
    await finish("a2");
    // A finished login frees its place.
    const again = queue.run("a", job("a4"));
    await finish("b1");
    await finish("a4");
    expect(await Promise.all([...admitted, other, again])).toEqual(["a1", "a2", "b1", "a4"]);
    expect(started).not.toContain("a3");
  });

  test("past maxWaiting logins waiting daemon-wide: TOO_MANY_LOGINS; the daemon's own jobs are never refused", async () => {
    const started: string[] = [];
    const { job, finish } = controlledJobs(started);
    const queue = new HashQueue({ hashConcurrency: 1, perConnection: 10, maxWaiting: 2 });
    const admitted = [queue.run("a", job("a1")), queue.run("b", job("b1")), queue.run("c", job("c1"))];
    const err = await expectHsmError(() => queue.run("d", job("d1")), "TOO_MANY_LOGINS");
    expect(err.details).toEqual({ limit: "daemon", max_logins: 2 });
    const internal = queue.run(undefined, job("internal"));
    for (const name of ["a1", "b1", "c1", "internal"]) await finish(name);
    expect(await Promise.all([...admitted, internal])).toEqual(["a1", "b1", "c1", "internal"]);
    expect(started).not.toContain("d1");
  });

  test("a failing job frees its slot and its connection's place", async () => {
    const queue = new HashQueue({ hashConcurrency: 1, perConnection: 1, maxWaiting: 1 });
    await expect(queue.run("a", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(queue.load).toEqual({ running: 0, waiting: 0 });
    expect(await queue.run("a", () => Promise.resolve(7))).toBe(7);
  });
});
