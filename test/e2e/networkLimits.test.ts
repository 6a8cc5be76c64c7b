// The network limit flags reach a real daemon: --watches-per-session, --max-concurrent-streams and --connection-idle-ms.
import * as grpc from "@grpc/grpc-js";
import { RawHttp2Peer } from "../support/rawHttp2";
import { WatchRecorder } from "../support/watchRecorder";
import { DaemonProcess, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const closer = useDaemonCleanup("file");
let daemon: DaemonProcess;

beforeAll(async () => {
  daemon = await DaemonProcess.start(
    standardArgs(freshDataDir(), ["--watches-per-session", "1", "--max-concurrent-streams", "7", "--connection-idle-ms", "300"]),
  );
});
afterAll(async () => {
  await daemon.stop();
});

test("--watches-per-session 1: a session's second watch is RESOURCE_EXHAUSTED / TOO_MANY_WATCHES", async () => {
  const hsm = await devCuClient(closer, daemon);
  const first = WatchRecorder.open(hsm, { startRevision: 0, progressIntervalMs: 50 });
  // A progress message means the daemon has set the first watch up.
  await first.until(() => first.progress.length > 0, "a progress message");
  const second = WatchRecorder.open(hsm, { startRevision: 0 });
  const end = await second.ended;
  expect({ code: end.error && grpc.status[end.error.code], reason: end.error?.reason }).toEqual({ code: "RESOURCE_EXHAUSTED", reason: "TOO_MANY_WATCHES" });
  await first.cancel();
});

test("--max-concurrent-streams is announced and --connection-idle-ms closes a silent connection", async () => {
  const peer = await RawHttp2Peer.connect(daemon.port);
  closer.add({ close: () => peer.destroy() });
  await peer.handshake();
  expect(peer.announcedMaxConcurrentStreams()).toBe(7);
  await peer.closed;
  expect(peer.goaway()).toBeDefined();
});
