// A watch belongs to its login session: it keeps the session in use, and ends when the session is logged out or expires.
import * as grpc from "@grpc/grpc-js";
import { HsmClient } from "../../clients";
import { burst } from "../support/clusterScript";
import { expectRpcError } from "../support/expectRpcError";
import { FakeTime } from "../support/fakeTime";
import { TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { WatchRecorder } from "../support/watchRecorder";

const IDLE_MS = 60_000;
const LIFETIME_MS = 600_000;

let t: TestDaemon;
let time: FakeTime;
let alice: HsmClient;
const fixture = useDaemonFixture();

beforeEach(async () => {
  time = new FakeTime();
  ({ t, alice } = await fixture.start({ clock: time, timers: time, sessionLimits: { idleMs: IDLE_MS, maxLifetimeMs: LIFETIME_MS, perUser: 64 } }));
});

/** A watch that has delivered an event, so the daemon has certainly set it up. */
async function runningWatch(client: HsmClient, request: Parameters<typeof WatchRecorder.open>[1] = {}): Promise<WatchRecorder> {
  const from = t.daemon.cluster.events.currentRevision + 1;
  const w = fixture.watch(client, { startRevision: from, ...request });
  await w.untilRevision(burst(t.daemon.cluster, 2));
  return w;
}

function outcome(end: Awaited<WatchRecorder["ended"]>): { code: string | undefined; reason: string | undefined } {
  return { code: end.error && grpc.status[end.error.code], reason: end.error?.reason };
}

test("logging out ends the session's watches with UNAUTHENTICATED; other sessions' watches go on", async () => {
  const bob = await t.loggedInCu("bob");
  const alices = await runningWatch(alice);
  const batched = await runningWatch(alice, { maxEventsPerResponse: 50 });
  const bobs = await runningWatch(bob);
  await alice.logout();
  expect(outcome(await alices.ended)).toEqual({ code: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" });
  expect(outcome(await batched.ended)).toEqual({ code: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" });
  const last = burst(t.daemon.cluster, 2);
  await bobs.untilRevision(last);
});

test("an open watch keeps its session from idling out; the session's lifetime still ends it, with SESSION_EXPIRED", async () => {
  const w = await runningWatch(alice);
  time.advance(IDLE_MS * 3);
  await alice.findKey();
  time.advance(LIFETIME_MS);
  const end = await w.ended;
  expect(end.error?.reason).toBe("SESSION_EXPIRED");
  await expectRpcError(alice.findKey(), end.error!.code, "SESSION_EXPIRED");
});

test("once the watch ends, idle time counts again from then", async () => {
  const w = await runningWatch(alice);
  time.advance(IDLE_MS * 2);
  await w.cancel();
  fixture.forget(w);
  // The cancel reaches the daemon asynchronously; a call on the session proves it is still alive afterwards.
  await alice.findKey();
  time.advance(IDLE_MS - 1);
  await alice.findKey();
  time.advance(IDLE_MS);
  await expectRpcError(alice.findKey(), grpc.status.UNAUTHENTICATED, "SESSION_EXPIRED");
});
