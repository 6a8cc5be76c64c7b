// The daemon's audit log end to end: a session of logins (both outcomes), key creation, import, share, setAttribute,
// export, deleteKey, a min_srv failure with its tombstone, user creation and cluster control leaves one CloudHSM opcode
// record per event in <data-dir>/audit.jsonl, each with time, node, user, handle and result; `verifyAudit` accepts the
// chain; editing one line makes it exit 1 naming that line, and the daemon then refuses to start with a one-line message.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AdminClient, ClusterControlClient, HsmClient, KEY_TYPE } from "../../clients";
import { AuditRecord } from "../../src/hsm/auditLog";
import { expectRpcError } from "../support/expectRpcError";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, standardArgs } from "./support/daemonProcess";
import { freshDataDir, useDaemonCleanup, verifyAudit } from "./support/e2eFixture";

const closer = useDaemonCleanup();

function readRecords(file: string): AuditRecord[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditRecord);
}

describe("audit log", () => {
  test("records every security event with time, node, user, handle and result; tampering is detected", async () => {
    const dataDir = freshDataDir("lch-audit-");
    const auditFile = join(dataDir, "audit.jsonl");
    const startedAt = Date.now();
    const daemon = await DaemonProcess.start(standardArgs(dataDir));
    const secret = readFileSync(join(dataDir, "admin-secret"), "utf8").trim();
    const admin = closer.add(new AdminClient(daemon.address, secret));
    const control = closer.add(new ClusterControlClient(daemon.address, secret));
    const alice = closer.add(new HsmClient(daemon.address));
    const intruder = closer.add(new HsmClient(daemon.address));

    const bob = (await admin.createUser("bob", "bob-password")).user!;
    const aliceId = await alice.login(DEV_USER, DEV_PASSWORD);
    await expectRpcError(intruder.login(DEV_USER, "not-the-password"), grpc.status.UNAUTHENTICATED, "LOGIN_FAILED");
    const wrappingKey = await alice.createWrappingKey();
    const imported = await alice.importSymKey(randomBytes(32), { wrappingKey, label: "audited" });
    await alice.shareKey(imported.keyHandle, [bob.userId]);
    const sessionKey = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "made-token", session: true });
    await alice.setAttribute(sessionKey.keyHandle, 1, 1);
    await alice.exportKey(imported.keyHandle, wrappingKey);
    await alice.deleteKey(imported.keyHandle);
    await control.nodeDown(2);
    const unmet = await expectRpcError(
      alice.importSymKey(randomBytes(32), { wrappingKey, label: "unmet", minSrv: 3, timeoutSeconds: 1 }),
      grpc.status.UNAVAILABLE,
      "MIN_SRV_UNMET",
    );
    await control.nodeUp(2);
    await alice.logout();
    const finishedAt = Date.now();
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
    expect(unmet.metadata.required).toBe("3");

    const records = readRecords(auditFile);
    // Every record carries the five fields; times are ISO-8601 within the run, nodes are node ids.
    for (const r of records) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(["seq", "time", "opcode", "node", "user", "result", "prev", "hash"]));
      expect(new Date(r.time).toISOString()).toBe(r.time);
      expect(Date.parse(r.time)).toBeGreaterThanOrEqual(startedAt - 1000);
      expect(Date.parse(r.time)).toBeLessThanOrEqual(finishedAt + 1000);
      expect([0, 1, 2]).toContain(r.node);
      expect(r.user === "admin" || typeof r.user === "number" || typeof r.user === "string").toBe(true);
      expect(typeof r.result).toBe("string");
    }
    const summary = records.map((r) => ({ opcode: r.opcode, user: r.user, handle: r.handle, result: r.result }));
    // The tombstoned key's handle is the one right after the session key's (handles grow; nothing else was created).
    const tombstoned = records.find((r) => r.opcode === "CN_TOMBSTONE_OBJECT")!.handle!;
    expect(summary).toEqual([
      { opcode: "CN_CREATE_USER", user: "admin", handle: undefined, result: "SUCCESS" }, // --dev-cu alice at start
      { opcode: "CN_CREATE_USER", user: "admin", handle: undefined, result: "SUCCESS" }, // bob
      { opcode: "CN_LOGIN", user: aliceId, handle: undefined, result: "SUCCESS" },
      { opcode: "CN_LOGIN", user: DEV_USER, handle: undefined, result: "LOGIN_FAILED" },
      { opcode: "CN_GENERATE_KEY", user: aliceId, handle: wrappingKey, result: "SUCCESS" },
      { opcode: "CN_UNWRAP_KEY", user: aliceId, handle: imported.keyHandle, result: "SUCCESS" },
      { opcode: "CN_SHARE_OBJECT", user: aliceId, handle: imported.keyHandle, result: "SUCCESS" },
      { opcode: "CN_GENERATE_KEY", user: aliceId, handle: sessionKey.keyHandle, result: "SUCCESS" },
      { opcode: "CN_MODIFY_OBJECT", user: aliceId, handle: sessionKey.keyHandle, result: "SUCCESS" },
      { opcode: "CN_WRAP_KEY", user: aliceId, handle: imported.keyHandle, result: "SUCCESS" },
      { opcode: "CN_DESTROY_OBJECT", user: aliceId, handle: imported.keyHandle, result: "SUCCESS" },
      { opcode: "CN_CLUSTER_CONTROL", user: "admin", handle: undefined, result: "SUCCESS" }, // node 2 down
      { opcode: "CN_UNWRAP_KEY", user: aliceId, handle: tombstoned, result: "SUCCESS" }, // created on one node...
      { opcode: "CN_TOMBSTONE_OBJECT", user: aliceId, handle: tombstoned, result: "SUCCESS" }, // ...removed: min_srv 3 unmet
      { opcode: "CN_CLUSTER_CONTROL", user: "admin", handle: undefined, result: "SUCCESS" }, // node 2 up
      { opcode: "CN_LOGOUT", user: aliceId, handle: undefined, result: "SUCCESS" },
    ]);
    expect(tombstoned).toBeGreaterThan(sessionKey.keyHandle);
    const control2 = records.filter((r) => r.opcode === "CN_CLUSTER_CONTROL");
    expect(control2.map((r) => ({ node: r.node, detail: r.detail }))).toEqual([
      { node: 2, detail: "state DOWN" },
      { node: 2, detail: "state UP" },
    ]);
    expect(records.filter((r) => r.opcode === "CN_CREATE_USER")[1]!.detail).toContain(`bob id ${bob.userId}`);
    // The login's node is the session's node; every key record of the session names a node that answered.
    const login = records.find((r) => r.opcode === "CN_LOGIN" && r.result === "SUCCESS")!;
    expect(records.find((r) => r.opcode === "CN_LOGOUT")!.node).toBe(login.node);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));

    // The chain verifies.
    const ok = await verifyAudit([auditFile]);
    expect(ok).toEqual({ code: 0, stdout: `audit chain OK: ${records.length} records\n`, stderr: "" });

    // Hide the failed login: change one field of line 4 and keep the line valid JSON.
    const tamperedLine = 4;
    const lines = readFileSync(auditFile, "utf8").split("\n");
    expect(lines[tamperedLine - 1]).toContain('"result":"LOGIN_FAILED"');
    lines[tamperedLine - 1] = lines[tamperedLine - 1]!.replace('"result":"LOGIN_FAILED"', '"result":"SUCCESS"');
    writeFileSync(auditFile, lines.join("\n"));
    const broken = await verifyAudit([auditFile]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe(`audit chain BROKEN at line ${tamperedLine}: content does not match its hash (${tamperedLine - 1} records verify before it)\n`);

    // The daemon refuses to start over a broken chain, with one line on stderr naming the file and the line.
    const refused = await DaemonProcess.run(standardArgs(dataDir));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`local-cloudhsm: audit log ${auditFile} is broken at line ${tamperedLine}: content does not match its hash\n`);
    expect(refused.logs.some((l) => l.message === "local-cloudhsm serving")).toBe(false);
  });
});
