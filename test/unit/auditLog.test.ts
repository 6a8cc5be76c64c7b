// The audit log's hash chain: records link, an edited line is caught at the right line, a torn tail is dropped.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuditChainError, FileAuditLog, verifyAuditChain } from "../../src/hsm/auditLog";
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, genParams, makeTempDir, removeDir } from "./support/harness";

describe("FileAuditLog", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = makeTempDir("lchsm-audit-");
    path = join(dir, "audit.jsonl");
  });
  afterEach(() => removeDir(dir));

  function writeRecords(count: number): void {
    const log = new FileAuditLog(path, () => Date.UTC(2026, 0, 1));
    for (let i = 0; i < count; i++) log.record({ opcode: "CN_LOGIN", node: 0, user: i, result: "SUCCESS" });
    log.close();
  }

  test("records chain to each other and verify; reopening continues the chain", () => {
    writeRecords(3);
    writeRecords(2);
    const check = verifyAuditChain(readFileSync(path, "utf8"));
    expect(check).toEqual({ ok: true, records: 5 });
    const seqs = readFileSync(path, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  test("editing one record is caught at that line, and the daemon refuses to open the log", () => {
    writeRecords(5);
    const lines = readFileSync(path, "utf8").split("\n");
    lines[2] = lines[2]!.replace('"result":"SUCCESS"', '"result":"LOGIN_FAILED"');
    writeFileSync(path, lines.join("\n"));
    expect(verifyAuditChain(readFileSync(path, "utf8"))).toMatchObject({ ok: false, brokenLine: 3, records: 2 });
    expect(() => new FileAuditLog(path)).toThrow(AuditChainError);
  });

  test("a deleted record breaks the chain at the next one", () => {
    writeRecords(4);
    const lines = readFileSync(path, "utf8").split("\n");
    lines.splice(1, 1);
    writeFileSync(path, lines.join("\n"));
    expect(verifyAuditChain(readFileSync(path, "utf8"))).toMatchObject({ ok: false, brokenLine: 2 });
  });

  test("a torn last line (a write cut by a crash) is dropped at open and the chain continues", () => {
    writeRecords(2);
    appendFileSync(path, '{"seq":3,"time":"2026-01-01T00:00:00.000Z","opcode":"CN_LO');
    writeRecords(1);
    expect(verifyAuditChain(readFileSync(path, "utf8"))).toEqual({ ok: true, records: 3 });
  });
});

describe("the cluster's audit trail", () => {
  test("logins (both outcomes), key creation, share, export, deletion and control actions are recorded without key material", async () => {
    const dir = makeTempDir("lchsm-audit-");
    const path = join(dir, "audit.jsonl");
    const audit = new FileAuditLog(path);
    const h = new ClusterHarness({ cluster: { audit } });
    try {
      const alice = await h.cu("alice");
      const bob = await h.cu("bob");
      await h.cluster.login(UserRole.CU, "alice", "wrong-password").catch(() => undefined);
      const key = await h.cluster.genSymKey(alice.session, genParams({ label: "audited" }));
      const wrapping = await h.cluster.genSymKey(alice.session, genParams({ label: "wrapper" }));
      h.cluster.shareKey(alice.session, key.handle, [bob.userId], true);
      const exported = h.cluster.wrapKey(alice.session, key.handle, wrapping.handle);
      h.cluster.deleteKey(alice.session, key.handle);
      h.cluster.setNodeState(2, "DOWN");
      const text = readFileSync(path, "utf8");
      const records = text.trim().split("\n").map((l) => JSON.parse(l) as { opcode: string; result: string; handle?: number });
      expect(records.map((r) => `${r.opcode}:${r.result}`)).toEqual([
        "CN_CREATE_USER:SUCCESS",
        "CN_LOGIN:SUCCESS",
        "CN_CREATE_USER:SUCCESS",
        "CN_LOGIN:SUCCESS",
        "CN_LOGIN:LOGIN_FAILED",
        "CN_GENERATE_KEY:SUCCESS",
        "CN_GENERATE_KEY:SUCCESS",
        "CN_SHARE_OBJECT:SUCCESS",
        "CN_WRAP_KEY:SUCCESS",
        "CN_DESTROY_OBJECT:SUCCESS",
        "CN_CLUSTER_CONTROL:SUCCESS",
      ]);
      expect(verifyAuditChain(text).ok).toBe(true);
      expect(text).not.toContain(exported.toString("hex"));
      expect(text).not.toContain("password1");
    } finally {
      h.dispose();
      audit.close();
      removeDir(dir);
    }
  });
});
