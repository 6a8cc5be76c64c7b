// The shared batch clock: one timer for every batched watcher, armed only when there is something to read.
import { NewEvent, RevisionLog } from "../../src/hsm/revisionLog";
import { TimerHandle, Timers } from "../../src/hsm/timers";
import { WatchTicker } from "../../src/hsm/watchTicker";
import { FakeTime } from "../support/fakeTime";

const INTERVAL = 20;

/** FakeTime that counts the timers armed. */
class CountingTimers implements Timers {
  armed = 0;
  constructor(readonly time: FakeTime) {}
  after(ms: number, fn: () => void): TimerHandle {
    this.armed += 1;
    return this.time.after(ms, fn);
  }
}

function nodeEvent(): NewEvent {
  return { kind: "NODE_UP", handle: 0, nodeId: 0, nodesHolding: 0, nodeCount: 3, atMs: 0, audience: undefined };
}

/** Lets promise reactions (the ticker's append hook) run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("WatchTicker", () => {
  let time: FakeTime;
  let timers: CountingTimers;
  let log: RevisionLog;
  let ticker: WatchTicker;
  beforeEach(() => {
    time = new FakeTime();
    timers = new CountingTimers(time);
    log = new RevisionLog(0, () => undefined, 1000);
    ticker = new WatchTicker(log, timers, INTERVAL);
  });

  test("a waiter whose revisions are already in the log wakes at the next tick, not before", () => {
    log.append([nodeEvent(), nodeEvent()]);
    const woken: number[] = [];
    ticker.onTickAfter(1, () => woken.push(time.now()));
    time.advance(INTERVAL - 1);
    expect(woken).toEqual([]);
    time.advance(1);
    expect(woken).toHaveLength(1);
  });

  test("a caught-up waiter arms no timer until the log grows, then wakes one interval later", async () => {
    log.append([nodeEvent()]);
    let woken = 0;
    ticker.onTickAfter(1, () => (woken += 1));
    time.advance(10 * INTERVAL);
    expect(timers.armed).toBe(0);
    expect(woken).toBe(0);

    log.append([nodeEvent()]);
    await turn();
    expect(timers.armed).toBe(1);
    time.advance(INTERVAL);
    expect(woken).toBe(1);
  });

  test("a thousand waiters share one timer and all wake at the same tick", () => {
    log.append([nodeEvent()]);
    let woken = 0;
    for (let i = 0; i < 1000; i++) ticker.onTickAfter(0, () => (woken += 1));
    expect(timers.armed).toBe(1);
    time.advance(INTERVAL);
    expect(woken).toBe(1000);
  });

  test("a tick wakes only the waiters the log has something for; the others wait for the next append", async () => {
    log.append([nodeEvent(), nodeEvent()]);
    const woken: string[] = [];
    ticker.onTickAfter(1, () => woken.push("behind"));
    ticker.onTickAfter(2, () => woken.push("caught up"));
    time.advance(INTERVAL);
    expect(woken).toEqual(["behind"]);
    expect(timers.armed).toBe(1);

    log.append([nodeEvent()]);
    await turn();
    time.advance(INTERVAL);
    expect(woken).toEqual(["behind", "caught up"]);
    expect(timers.armed).toBe(2);
  });

  test("the interval is a positive whole number of milliseconds", () => {
    expect(() => new WatchTicker(log, timers, 0)).toThrow(RangeError);
    expect(() => new WatchTicker(log, timers, 2.5)).toThrow(RangeError);
  });
});

describe("WatchTicker withdrawal", () => {
  test("a withdrawn waiter is not woken and does not stay behind", () => {
    const time = new FakeTime();
    const log = new RevisionLog(0, () => undefined, 100);
    const ticker = new WatchTicker(log, time, INTERVAL);
    log.append([nodeEvent()]);
    let woken = 0;
    const withdraw = ticker.onTickAfter(0, () => (woken += 1));
    withdraw();
    expect(ticker.waiterCount).toBe(0);
    time.advance(INTERVAL);
    expect(woken).toBe(0);
  });
});
