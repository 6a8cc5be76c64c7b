// The one wait on the revision log: what ends it (append, timeout on the injected timers, abort, interrupt), that it
// leaves nothing registered behind, and the append-by-append loop with a deadline that -min_srv uses.
import { untilAppendsReach, WakeSource, Waiter } from "../../src/hsm/appendWait";
import { NewEvent, RevisionLog } from "../../src/hsm/revisionLog";
import { TimerHandle, Timers } from "../../src/hsm/timers";
import { FakeTime } from "../support/fakeTime";

const EVENT: NewEvent = { kind: "NODE_DOWN", handle: 0, nodeId: 0, nodesHolding: 0, nodeCount: 3, atMs: 0, audience: undefined };

/** Fake timers that count the timers armed and still live. */
class CountingTimers implements Timers {
  armed = 0;
  live = 0;
  constructor(readonly time: FakeTime) {}
  after(ms: number, fn: () => void): TimerHandle {
    this.armed += 1;
    this.live += 1;
    let done = false;
    const settle = (): boolean => !done && ((done = true), (this.live -= 1), true);
    const inner = this.time.after(ms, () => settle() && fn());
    return { cancel: () => (settle(), inner.cancel()) };
  }
}

/** A wake source that records how many registrations are outstanding, and can wake them. */
class Source {
  private wakes = new Set<() => void>();
  registered = 0;
  readonly source: WakeSource = (wake) => {
    this.registered += 1;
    this.wakes.add(wake);
    return () => void this.wakes.delete(wake);
  };
  get outstanding(): number {
    return this.wakes.size;
  }
  wakeAll(): void {
    const wakes = [...this.wakes];
    this.wakes.clear();
    for (const wake of wakes) wake();
  }
}

/** Resolves to `"pending"` if `promise` has not settled after a few turns of the event loop. */
async function state<T>(promise: Promise<T>): Promise<T | "pending"> {
  let value: T | "pending" = "pending";
  void promise.then((v) => (value = v));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return value;
}

describe("Waiter", () => {
  let time: FakeTime;
  let timers: CountingTimers;
  let log: RevisionLog;
  beforeEach(() => {
    time = new FakeTime(0);
    timers = new CountingTimers(time);
    log = new RevisionLog(0, () => undefined, 100);
  });

  test("ends 'woken' at the next append, and nothing else ends it meanwhile", async () => {
    const waiter = new Waiter(timers);
    const wait = waiter.nextAppend(log);
    time.advance(3_600_000);
    expect(await state(wait)).toBe("pending");
    log.append([EVENT]);
    expect(await wait).toBe("woken");
    waiter.close();
  });

  test("a timeout runs on the injected timers: it ends only when that time passes, and its timer is gone after", async () => {
    const waiter = new Waiter(timers);
    const wait = waiter.nextAppend(log, 500);
    time.advance(499);
    expect(await state(wait)).toBe("pending");
    time.advance(1);
    expect(await wait).toBe("timeout");
    expect(timers.live).toBe(0);
    waiter.close();
  });

  test("an append before the timeout cancels the timer", async () => {
    const waiter = new Waiter(timers);
    const wait = waiter.nextAppend(log, 500);
    log.append([EVENT]);
    expect(await wait).toBe("woken");
    expect(timers.armed).toBe(1);
    expect(timers.live).toBe(0);
    waiter.close();
  });

  test("abort ends the wait, withdraws its registration and cancels its timer", async () => {
    const source = new Source();
    const abort = new AbortController();
    const waiter = new Waiter(timers, abort.signal);
    const wait = waiter.until(source.source, 1000);
    expect(source.outstanding).toBe(1);
    abort.abort();
    expect(await wait).toBe("aborted");
    expect(source.outstanding).toBe(0);
    expect(timers.live).toBe(0);
    waiter.close();
  });

  test("an already aborted signal, or a timeout that is not positive, ends at once without registering anything", async () => {
    const source = new Source();
    const aborted = new AbortController();
    aborted.abort();
    const a = new Waiter(timers, aborted.signal);
    expect(await a.until(source.source, 1000)).toBe("aborted");
    const b = new Waiter(timers);
    expect(await b.until(source.source, 0)).toBe("timeout");
    expect(await b.until(source.source, -5)).toBe("timeout");
    expect(source.registered).toBe(0);
    expect(timers.armed).toBe(0);
    a.close();
    b.close();
  });

  test("interrupt ends the wait in progress as woken; with none in progress it does nothing", async () => {
    const source = new Source();
    const waiter = new Waiter(timers);
    waiter.interrupt();
    const wait = waiter.until(source.source, 1000);
    waiter.interrupt();
    expect(await wait).toBe("woken");
    expect(source.outstanding).toBe(0);
    expect(timers.live).toBe(0);
    waiter.close();
  });

  test("one abort listener for the waiter's life, however many waits, and none after close", async () => {
    const abort = new AbortController();
    const add = jest.spyOn(abort.signal, "addEventListener");
    const remove = jest.spyOn(abort.signal, "removeEventListener");
    const waiter = new Waiter(timers, abort.signal);
    for (let i = 0; i < 10; i++) {
      const wait = waiter.nextAppend(log, 100);
      log.append([EVENT]);
      expect(await wait).toBe("woken");
    }
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).not.toHaveBeenCalled();
    waiter.close();
    expect(remove).toHaveBeenCalledTimes(1);
  });

  test("close ends a wait in progress as aborted, and later waits end at once", async () => {
    const source = new Source();
    const waiter = new Waiter(timers);
    const wait = waiter.until(source.source);
    waiter.close();
    expect(await wait).toBe("aborted");
    expect(source.outstanding).toBe(0);
    expect(await waiter.until(source.source)).toBe("aborted");
    expect(source.registered).toBe(1);
  });

  test("a source that wakes while being registered ends the wait at once and leaves no timer", async () => {
    const waiter = new Waiter(timers);
    const eager: WakeSource = (wake) => {
      wake();
      return () => undefined;
    };
    expect(await waiter.until(eager, 1000)).toBe("woken");
    expect(timers.armed).toBe(0);
    waiter.close();
  });

  test("many waits on an idle log leave no listener behind: an append after them wakes only the one waiting", async () => {
    const waiter = new Waiter(timers);
    for (let i = 0; i < 100; i++) {
      const wait = waiter.nextAppend(log, 10);
      time.advance(10);
      expect(await wait).toBe("timeout");
    }
    const source = new Source();
    const wait = waiter.until(source.source);
    log.append([EVENT]);
    expect(await state(wait)).toBe("pending");
    source.wakeAll();
    expect(await wait).toBe("woken");
    expect(timers.live).toBe(0);
    waiter.close();
  });
});

describe("untilAppendsReach", () => {
  let time: FakeTime;
  let log: RevisionLog;
  beforeEach(() => {
    time = new FakeTime(0);
    log = new RevisionLog(0, () => undefined, 100);
  });

  test("true at once when already reached; otherwise looks again at each append until reached", async () => {
    let count = 0;
    expect(await untilAppendsReach(log, time, () => time.now(), { reached: () => true })).toBe(true);
    const done = untilAppendsReach(log, time, () => time.now(), { reached: () => count >= 2 });
    count = 1;
    log.append([EVENT]);
    expect(await state(done)).toBe("pending");
    count = 2;
    log.append([EVENT]);
    expect(await done).toBe(true);
  });

  test("false once the deadline passes on the injected clock and timers", async () => {
    const done = untilAppendsReach(log, time, () => time.now(), { reached: () => false }, { deadline: 1000 });
    log.append([EVENT]);
    time.advance(999);
    expect(await state(done)).toBe("pending");
    time.advance(1);
    expect(await done).toBe(false);
  });

  test("reached together with the deadline counts as reached", async () => {
    let reached = false;
    const done = untilAppendsReach(log, time, () => time.now(), { reached: () => reached }, { deadline: 1000 });
    await state(done);
    reached = true; // e.g. a delivery in the same tick as the deadline, before the waiter looks
    time.advance(1000);
    expect(await done).toBe(true);
  });

  test("false when the thing waited on is gone, or the signal aborts", async () => {
    let gone = false;
    const whenGone = untilAppendsReach(log, time, () => time.now(), { reached: () => false, gone: () => gone });
    gone = true;
    log.append([EVENT]);
    expect(await whenGone).toBe(false);

    const abort = new AbortController();
    const whenAborted = untilAppendsReach(log, time, () => time.now(), { reached: () => false }, { signal: abort.signal });
    expect(await state(whenAborted)).toBe("pending");
    abort.abort();
    expect(await whenAborted).toBe(false);
  });

  test("a deadline already past, or a signal already aborted, answers without waiting", async () => {
    time.advance(5000);
    expect(await untilAppendsReach(log, time, () => time.now(), { reached: () => false }, { deadline: 1000 })).toBe(false);
    const abort = new AbortController();
    abort.abort();
    expect(await untilAppendsReach(log, time, () => time.now(), { reached: () => false }, { signal: abort.signal })).toBe(false);
  });
});
