// The integration tests' shared fixture: a TestDaemon with alice logged in and a cluster-control client, and the
// watches and extra channels a test opens, all cancelled and closed by one clean-up hook after each test (or the file).
import { ClusterControlClient, HsmClient } from "../../clients";
import { startTestDaemon, TEST_ADMIN_SECRET, TestDaemon, TestDaemonOptions } from "./testDaemon";
import { WatchRecorder, WatchRequest } from "./watchRecorder";

export interface LoggedInDaemon {
  readonly t: TestDaemon;
  /** The crypto user alice, logged in. */
  readonly alice: HsmClient;
  readonly control: ClusterControlClient;
}

export class DaemonFixture {
  private current: { t: TestDaemon; control: ClusterControlClient } | undefined;
  private readonly watches: WatchRecorder[] = [];
  private readonly channels: HsmClient[] = [];

  /** Starts the daemon, opens the control client and logs alice in. */
  async start(options: TestDaemonOptions = {}): Promise<LoggedInDaemon> {
    const t = await startTestDaemon(options);
    const control = new ClusterControlClient(t.address, TEST_ADMIN_SECRET);
    this.current = { t, control };
    return { t, control, alice: await t.loggedInCu("alice") };
  }

  /** Opens a raw watch that the clean-up cancels if the test did not. */
  watch(client: HsmClient, request?: WatchRequest, options?: Parameters<typeof WatchRecorder.open>[2]): WatchRecorder {
    return this.keep(WatchRecorder.open(client, request, options));
  }

  /** Hands a watch opened elsewhere to the clean-up. */
  keep(watch: WatchRecorder): WatchRecorder {
    this.watches.push(watch);
    return watch;
  }

  /** Takes back a watch the test has ended itself. */
  forget(watch: WatchRecorder): void {
    const at = this.watches.indexOf(watch);
    if (at >= 0) this.watches.splice(at, 1);
  }

  /** A second channel (connection) to the daemon, closed by the clean-up. */
  channel(): HsmClient {
    if (!this.current) throw new Error("the fixture's daemon is not started");
    const client = new HsmClient(this.current.t.address);
    this.channels.push(client);
    return client;
  }

  /** Cancels the watches, closes the channels and the control client, and shuts the daemon down. */
  async close(): Promise<void> {
    for (const w of this.watches.splice(0)) await w.cancel();
    for (const c of this.channels.splice(0)) c.close();
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    current.control.close();
    await current.t.close();
  }
}

/** A fixture whose clean-up runs after each test ("each") or once after the file or describe block ("all"). */
export function useDaemonFixture(scope: "each" | "all" = "each"): DaemonFixture {
  const fixture = new DaemonFixture();
  if (scope === "each") afterEach(() => fixture.close());
  else afterAll(() => fixture.close());
  return fixture;
}
