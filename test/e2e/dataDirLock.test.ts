// One daemon per data directory: a second one on the same directory (another port) is refused before it
// changes anything, naming the directory and the running daemon's pid; the lock dies with its process.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DaemonProcess, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, startLoggedIn, useDaemonCleanup } from "./support/e2eFixture";

const closer = useDaemonCleanup();

/** Every file of the directory with its size, modification time and, for the audit log, content. */
function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const st = statSync(join(dir, name));
    entries[name] = `${st.size} ${st.mtimeMs} ${st.mode.toString(8)}`;
  }
  entries["audit.jsonl content"] = readFileSync(join(dir, "audit.jsonl"), "utf8");
  return entries;
}

const serving = (l: { message?: string }): boolean => l.message === "local-cloudhsm serving";

describe("data directory lock", () => {
  test("a second daemon on the same data dir exits 1 naming the dir and the first daemon's pid, and changes nothing", async () => {
    const dataDir = freshDataDir();
    const first = await DaemonProcess.start(standardArgs(dataDir));
    const before = snapshot(dataDir);
    // Creating the dev user was audited: the log the second daemon would have appended to is not empty.
    expect(before["audit.jsonl content"]).not.toBe("");

    const second = await DaemonProcess.run(standardArgs(dataDir));
    expect({ code: second.code, signal: second.signal }).toEqual({ code: 1, signal: null });
    expect(second.logs.filter(serving)).toEqual([]);
    const lines = second.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^local-cloudhsm: /);
    expect(lines[0]).toContain(dataDir);
    expect(lines[0]).toContain(`pid ${first.pid}`);
    expect(snapshot(dataDir)).toEqual(before);

    // The first daemon is untouched: keys get consecutive handles, and after it stops the directory opens again.
    const hsm = await devCuClient(closer, first);
    const a = await hsm.createWrappingKey();
    const b = await hsm.createWrappingKey();
    expect(b).toBe(a + 1);
    hsm.close();
    expect((await first.stop("SIGTERM")).code).toBe(0);
    const third = await DaemonProcess.start(standardArgs(dataDir));
    expect(third.logs.find(serving)).toMatchObject({ keys: 2, pid: third.pid });
    expect((await third.stop("SIGTERM")).code).toBe(0);
  });

  test("two daemons started at once on one data dir: exactly one serves, the other names it", async () => {
    const dataDir = freshDataDir();
    const daemons = [DaemonProcess.spawn(standardArgs(dataDir)), DaemonProcess.spawn(standardArgs(dataDir))];
    const outcome = (d: DaemonProcess): Promise<"serving" | "exited"> =>
      d.waitForLog(serving, "the serving line").then(
        () => "serving" as const,
        async () => {
          await d.exited;
          return "exited" as const;
        },
      );
    const outcomes = await Promise.all(daemons.map(outcome));
    expect([...outcomes].sort()).toEqual(["exited", "serving"]);
    const winner = daemons[outcomes.indexOf("serving")]!;
    const loser = await daemons[outcomes.indexOf("exited")]!.exited;
    expect(loser.code).toBe(1);
    expect(loser.stderr.trimEnd()).toBe(loser.stderr.trimEnd().split("\n")[0]);
    expect(loser.stderr).toContain(`pid ${winner.pid}`);
    expect((await winner.stop("SIGTERM")).code).toBe(0);
  });

  test("after kill -9 the lock is gone with the process: the next daemon starts on the directory and has its keys", async () => {
    const dataDir = freshDataDir();
    const { daemon: first, hsm } = await startLoggedIn(closer, dataDir);
    await hsm.createWrappingKey();
    hsm.close();
    expect((await first.stop("SIGKILL")).signal).toBe("SIGKILL");

    const second = await DaemonProcess.start(standardArgs(dataDir));
    expect(second.logs.find(serving)).toMatchObject({ keys: 1 });
    expect((await second.stop("SIGTERM")).code).toBe(0);
  });
});
