// kmu one-shot mode against a real daemon process: each command logs in from KMU_USER/KMU_PASSWORD, runs, logs out,
// prints the documented text (or --json) and exits 0 on success, 1 when the HSM refuses, 2 on a usage mistake.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ClusterControlClient } from "../../clients";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, standardArgs } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv, des3Kcv } from "./support/keyMaterial";
import { foundHandles, KMU_BIN, keyHandleOf, killAllKmu, KmuRun, runKmu } from "./support/kmuProcess";

const OK = "HSM Return: SUCCESS";
const closer = useDaemonCleanup("file");
let daemon: DaemonProcess;
let dataDir: string;
let work: string;
let wrappingKey: number;

/** Runs kmu in the work dir, logged in as the dev crypto user. */
function kmu(...args: string[]): Promise<KmuRun> {
  return runKmu(args, { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: DEV_PASSWORD } });
}

/** Writes `bytes` to a file in the work dir and returns its name. */
function keyFile(name: string, bytes: Buffer): string {
  writeFileSync(join(work, name), bytes);
  return name;
}

/** The documented three-node cluster block. */
const CLUSTER_OK = ["        Cluster Error Status", ...[0, 1, 2].map((n) => `        Node id ${n} and err state 0x00000000 : ${OK}`)].join("\n");

beforeAll(async () => {
  const root = makeTempDir("lch-kmu-");
  dataDir = join(root, "data");
  work = join(root, "work");
  mkdirSync(work);
  daemon = await DaemonProcess.start(standardArgs(dataDir));
  const gen = await kmu("genSymKey", "-t", "31", "-s", "32", "-l", "wrapping-key");
  expect(gen.code).toBe(0);
  wrappingKey = keyHandleOf(gen);
});

afterEach(() => {
  closer.closeAll();
  killAllKmu();
});

test("genSymKey prints the documented transcript", async () => {
  const run = await kmu("genSymKey", "-t", "31", "-s", "16", "-l", "gen-check", "-m_value", "0");
  expect(run.code).toBe(0);
  const handle = keyHandleOf(run);
  expect(run.stdout).toBe(`\n        Cfm3GenerateSymmetricKey returned: 0x00 : ${OK}\n\n        Symmetric Key Created.  Key Handle: ${handle}\n\n${CLUSTER_OK}\n`);
  expect(run.stderr).toBe("");
});

test("imSymKey of random AES and 3DES keys; getAttribute -a 371 writes the KCV computed here", async () => {
  const aes = randomBytes(32);
  const imported = await kmu("imSymKey", "-f", keyFile("aes.bin", aes), "-w", String(wrappingKey), "-t", "31", "-l", "imported");
  expect(imported.code).toBe(0);
  const handle = keyHandleOf(imported);
  expect(imported.stdout).toBe(
    `\n        Cfm3WrapHostKey returned: 0x00 : ${OK}\n\n        Cfm3CreateUnwrapTemplate returned: 0x00 : ${OK}\n\n` +
      `        Cfm3UnWrapKey returned: 0x00 : ${OK}\n\n        Symmetric Key Unwrapped.  Key Handle: ${handle}\n\n${CLUSTER_OK}\n`,
  );

  const kcv = await kmu("getAttribute", "-o", String(handle), "-a", "371", "-out", "kcv.txt");
  expect(kcv.code).toBe(0);
  expect(kcv.stdout).toBe(`Attributes dumped into kcv.txt file\n\n        Cfm3GetAttribute returned: 0x00 : ${OK}\n`);
  expect(readFileSync(join(work, "kcv.txt"), "utf8")).toBe(`OBJ_ATTR_KCV\n0x${aesKcv(aes)}\n`);

  // -out overwrites; 512 reports the file's size in bytes and the attribute count.
  const all = await kmu("getAttribute", "-o", String(handle), "-a", "512", "-out", "kcv.txt");
  expect(all.code).toBe(0);
  const dump = readFileSync(join(work, "kcv.txt"), "utf8");
  expect(all.stdout.split("\n")[0]).toBe(`got all attributes of size ${Buffer.byteLength(dump)} attr cnt 17`);
  expect(dump).toContain("OBJ_ATTR_LOCAL\n0x00\n");
  expect(dump).toContain(`OBJ_ATTR_KCV\n0x${aesKcv(aes)}\n`);

  const des3 = randomBytes(24);
  const imported3 = await kmu("imSymKey", "-f", keyFile("des3.bin", des3), "-w", String(wrappingKey), "-t", "21", "-l", "des3", "-id", "des3-id");
  expect(imported3.code).toBe(0);
  const kcv3 = await kmu("getAttribute", "-o", String(keyHandleOf(imported3)), "-a", "371", "-out", "kcv3.txt");
  expect(kcv3.code).toBe(0);
  expect(readFileSync(join(work, "kcv3.txt"), "utf8")).toBe(`OBJ_ATTR_KCV\n0x${des3Kcv(des3)}\n`);
});

test("findKey with each filter, alone and combined, and the zero-match form", async () => {
  const material = randomBytes(16);
  const a = keyHandleOf(await kmu("imSymKey", "-f", keyFile("f1.bin", material), "-w", String(wrappingKey), "-t", "31", "-l", "find-me", "-id", "find-a"));
  const b = keyHandleOf(await kmu("imSymKey", "-f", keyFile("f2.bin", randomBytes(24)), "-w", String(wrappingKey), "-t", "21", "-l", "find-me"));

  const byLabel = await kmu("findKey", "-l", "find-me");
  expect(byLabel.code).toBe(0);
  expect(byLabel.stdout).toBe(
    `Total number of keys present 2\n\n number of keys matched from start index 0::1\n${a}, ${b}\n\n${CLUSTER_OK}\n\n        Cfm3FindKey returned: 0x00 : ${OK}\n`,
  );
  expect(foundHandles(await kmu("findKey", "-l", "find-me", "-t", "21"))).toEqual([b]);
  expect(foundHandles(await kmu("findKey", "-l", "find-me", "-c", "4", "-id", "find-a"))).toEqual([a]);
  expect(foundHandles(await kmu("findKey", "-kcv", aesKcv(material)))).toEqual([a]);
  expect(foundHandles(await kmu("findKey", "-kcv", `0x${aesKcv(material)}`, "-sess", "0"))).toEqual([a]);
  expect(foundHandles(await kmu("findKey", "-l", "find-me", "-sess", "1"))).toEqual([]);

  const none = await kmu("findKey", "-l", "find-me", "-id", "no-such-id");
  expect(none.code).toBe(0);
  expect(none.stdout).toBe(`Total number of keys present 0\n\n${CLUSTER_OK}\n\n        Cfm3FindKey returned: 0x00 : ${OK}\n`);

  // -m reads its file when the command runs: a missing file is kmu's own failure (kmuKeyPairs.test.ts finds by modulus).
  const modulus = await kmu("findKey", "-m", "no-such-modulus.bin");
  expect(modulus.code).toBe(1);
  expect(modulus.stderr).toContain('cannot read -m file "no-such-modulus.bin"');
  // A modulus no key has matches nothing.
  expect(foundHandles(await kmu("findKey", "-m", keyFile("modulus.bin", randomBytes(256))))).toEqual([]);
});

test("exSymKey round trips, with and without -wk; a wrong -wk key creates and writes nothing", async () => {
  const material = randomBytes(32);
  const handle = keyHandleOf(await kmu("imSymKey", "-f", keyFile("ex.bin", material), "-w", String(wrappingKey), "-t", "31", "-l", "to-export"));
  const exported = await kmu("exSymKey", "-k", String(handle), "-w", String(wrappingKey), "-out", "exported.bin");
  expect(exported.code).toBe(0);
  expect(exported.stdout).toBe(
    `\n        Cfm3WrapKey returned: 0x00 : ${OK}\n\n        Cfm3UnWrapHostKey returned: 0x00 : ${OK}\n\n\nWrapped Symmetric Key written to file "exported.bin"\n`,
  );
  expect(readFileSync(join(work, "exported.bin")).equals(material)).toBe(true);

  // A wrapping key whose plaintext the host knows, for -wk.
  const hostKey = randomBytes(32);
  const hostKeyHandle = keyHandleOf(await kmu("imSymKey", "-f", keyFile("host.key", hostKey), "-w", String(wrappingKey), "-t", "31", "-l", "host-wrap"));
  const viaWk = await kmu("imSymKey", "-f", "ex.bin", "-w", String(hostKeyHandle), "-wk", "host.key", "-t", "31", "-l", "via-wk");
  expect(viaWk.code).toBe(0);
  // The host did the wrap, so the daemon reports no Cfm3WrapHostKey step.
  expect(viaWk.stdout).not.toContain("Cfm3WrapHostKey");
  expect(viaWk.stdout).toMatch(/^\n {8}Cfm3CreateUnwrapTemplate returned: 0x00 : HSM Return: SUCCESS\n\n {8}Cfm3UnWrapKey returned: 0x00/);
  const wkExport = await kmu("exSymKey", "-k", String(keyHandleOf(viaWk)), "-w", String(hostKeyHandle), "-wk", "host.key", "-out", "wk-exported.bin", "-m", "4");
  expect(wkExport.code).toBe(0);
  expect(wkExport.stdout).toBe(`\n        Cfm3WrapKey returned: 0x00 : ${OK}\n\n\nWrapped Symmetric Key written to file "wk-exported.bin"\n`);
  expect(readFileSync(join(work, "wk-exported.bin")).equals(material)).toBe(true);

  keyFile("other.key", randomBytes(32));
  const mismatch = await kmu("imSymKey", "-f", "ex.bin", "-w", String(hostKeyHandle), "-wk", "other.key", "-t", "31", "-l", "never-created");
  expect(mismatch.code).toBe(1);
  expect(mismatch.stdout).toBe("\n        Cfm3UnWrapKey returned: 0x110 : HSM Error: Unwrap integrity check failed\n");
  expect(foundHandles(await kmu("findKey", "-l", "never-created"))).toEqual([]);
  // The host-side unwrap (-wk) fails its integrity check: the same code and text as the import's, on the host's step.
  const badExport = await kmu("exSymKey", "-k", String(handle), "-w", String(wrappingKey), "-wk", "other.key", "-out", "never.bin");
  expect(badExport.code).toBe(1);
  expect(badExport.stdout).toBe("\n        Cfm3UnWrapHostKey returned: 0x110 : HSM Error: Unwrap integrity check failed\n");
  expect(badExport.stderr.startsWith("kmu: UNWRAP_INTEGRITY_FAILED: ")).toBe(true);
  const badExportJson = await kmu("--json", "exSymKey", "-k", String(handle), "-w", String(wrappingKey), "-wk", "other.key", "-out", "never.bin");
  expect(badExportJson.code).toBe(1);
  expect(JSON.parse(badExportJson.stdout)).toMatchObject({
    error_code: 0x110,
    data: { reason: "UNWRAP_INTEGRITY_FAILED", step: "Cfm3UnWrapHostKey", return_code: "0x110", description: "HSM Error: Unwrap integrity check failed" },
  });
  expect(existsSync(join(work, "never.bin"))).toBe(false);
});

test("getKeyInfo, listUsers, deleteKey and the documented failure lines", async () => {
  const users = await kmu("listUsers");
  expect(users.code).toBe(0);
  const row = /^ {8}1 {16}(\d+) {6}CU {14}alice {21}NO {15}0 {15}NO$/m.exec(users.stdout);
  expect(row).not.toBeNull();
  expect(users.stdout).toMatch(/^\n {8}Number Of Users found 1\n\n {8}Index {7}User ID/);
  expect(users.stdout.endsWith(`\n\n        Cfm3ListUsers returned: 0x00 : ${OK}\n`)).toBe(true);

  const handle = keyHandleOf(await kmu("genSymKey", "-t", "31", "-s", "24", "-l", "to-delete"));
  const info = await kmu("getKeyInfo", "-k", String(handle));
  expect(info.code).toBe(0);
  expect(info.stdout).toBe(`\n        Cfm3GetKey returned: 0x00 : ${OK}\n\n        Owned by user ${row![1]}\n`);

  const deleted = await kmu("deleteKey", "-k", String(handle));
  expect(deleted.code).toBe(0);
  expect(deleted.stdout).toBe(`\n        Cfm3DeleteKey returned: 0x00 : ${OK}\n\n${CLUSTER_OK}\n`);
  const again = await kmu("deleteKey", "-k", String(handle));
  expect(again.code).toBe(1);
  expect(again.stdout).toBe("\n        Cfm3FindKey returned: 0xa8 : HSM Error: Invalid object handle is passed to this operation\n");
  const gone = await kmu("getKeyInfo", "-k", String(handle));
  expect(gone.code).toBe(1);
  expect(gone.stdout).toContain("Cfm3GetKey returned: 0xa8 : HSM Error: Invalid object handle is passed to this operation");

  const internal = await kmu("imSymKey", "-f", keyFile("int.bin", randomBytes(16)), "-w", "4", "-t", "31", "-l", "x");
  expect(internal.code).toBe(1);
  expect(internal.stdout).toBe("\n        Cfm3WrapHostKey returned: 0xc6 : HSM Error: Key Access is denied.\n");
});

test("Error2String needs neither a login nor a daemon", async () => {
  const run = await runKmu(["Error2String", "-r", "0xdb"], { env: { LOCALCLOUDHSM_ADDRESS: "127.0.0.1:1" } });
  expect(run).toEqual({ code: 0, stdout: "\n        Error Code db maps to HSM Error: Invalid User Type.\n", stderr: "" });
  const project = await runKmu(["Error2String", "-r", "0x110"]);
  expect(project.stdout).toBe("\n        Error Code 110 maps to HSM Error: Unwrap integrity check failed\n");
});

test("usage mistakes print the help, exit 2 and send nothing (not even a login)", async () => {
  keyFile("u.bin", randomBytes(16));
  const callsBefore = daemon.logs.filter((l) => l.message === "call").length;
  const mistakes: string[][] = [
    ["imSymKey", "-f", "u.bin", "-w", String(wrappingKey), "-t", "31"],
    ["imSymKey", "-f", "u.bin", "-w", String(wrappingKey), "-t", "31", "-l", "x", "-bogus"],
    ["imSymKey", "-f", "u.bin", "-w", "twenty", "-t", "31", "-l", "x"],
    ["imSymKey", "-f", "u.bin", "-w", String(wrappingKey), "-t", "31", "-l", "x", "-timeout", "5"],
    ["genSymKey", "-t", "31", "-s", "32", "-l", "x", "-m_value", "9"],
    ["getAttribute", "-o", "6", "-a", "371"],
    ["setAttribute", "-o", "6", "-a", "3"],
    ["exSymKey", "-k", "6", "-w", "6", "-out", "x.bin", "-m", "5"],
  ];
  for (const words of mistakes) {
    const run = await kmu(...words);
    expect({ words, code: run.code }).toEqual({ words, code: 2 });
    expect(run.stdout).toContain(`Syntax: ${words[0]} -h`);
    expect(run.stderr).toMatch(new RegExp(`^kmu: ${words[0]}: `));
  }
  // A real call afterwards: its Logout is the last line, so every call since the mistakes has been logged.
  const logoutsBefore = daemon.logs.filter((l) => l.method === "Logout").length;
  await kmu("findKey", "-l", "x");
  await daemon.waitForLog((l) => l.method === "Logout", "the findKey run's logout", logoutsBefore + 1);
  const calls = daemon.logs.filter((l) => l.message === "call").slice(callsBefore).map((l) => l.method);
  expect(calls).toEqual(["Login", "FindKey", "Logout"]);
});

test("-h prints the command's help and exits 0", async () => {
  const run = await runKmu(["imSymKey", "-h"]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("Syntax: imSymKey -h\n        imSymKey -f <key-file> -w <wrapping-key-handle> -t <key-type> -l <label>");
});

test("-attest: PASS with fetched or pinned keys, FAIL (exit 1) when a node's firmware is tampered", async () => {
  const run = await kmu("imSymKey", "-f", keyFile("att.bin", randomBytes(24)), "-w", String(wrappingKey), "-t", "21", "-l", "attested", "-sess", "-attest");
  expect(run.code).toBe(0);
  const handle = keyHandleOf(run);
  // The verdict sits between the handle line and the cluster block; a session key has one node line.
  expect(run.stdout).toMatch(
    new RegExp(`Symmetric Key Unwrapped\\.  Key Handle: ${handle}\\n\\n {8}Attestation Check : \\[PASS\\]\\n\\n {8}Cluster Error Status\\n {8}Node id \\d and err state 0x00000000 : HSM Return: SUCCESS\\n$`),
  );

  const pin = await kmu("pinAttestationKeys", "-out", "attestation-keys.json");
  expect(pin.code).toBe(0);
  expect(pin.stdout).toBe('Attestation keys of 3 HSMs written to file "attestation-keys.json"\n');
  const pinned = await runKmu(["--attestation-keys", "attestation-keys.json", "genSymKey", "-t", "31", "-s", "32", "-l", "pinned", "-attest"], {
    cwd: work,
    env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: DEV_PASSWORD },
  });
  expect(pinned.code).toBe(0);
  expect(pinned.stdout).toContain("        Attestation Check : [PASS]\n\n        Cluster Error Status\n");

  const control = closer.add(new ClusterControlClient(daemon.address, readFileSync(join(dataDir, "admin-secret"), "utf8").trim()));
  await control.setFirmwareTampered(1, true);
  try {
    const tampered = await kmu("genSymKey", "-t", "31", "-s", "32", "-l", "tampered", "-attest");
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain("        Attestation Check : [FAIL]\n\n        Cluster Error Status\n");
    expect(tampered.stderr).toContain("node 1: the firmware measurement is not the genuine one");
  } finally {
    await control.setFirmwareTampered(1, false);
  }
});

test("-min_srv that cannot be met: the failing step, each node's state, exit 1, no key", async () => {
  const control = closer.add(new ClusterControlClient(daemon.address, readFileSync(join(dataDir, "admin-secret"), "utf8").trim()));
  await control.nodeDown(2);
  try {
    const run = await kmu("imSymKey", "-f", keyFile("ms.bin", randomBytes(16)), "-w", String(wrappingKey), "-t", "31", "-l", "min-srv", "-min_srv", "3", "-timeout", "0");
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^\n {8}Cfm3UnWrapKey returned: 0x30 : HSM Error: Key could not be synchronized to the minimum number of servers\n\n {8}Cluster Error Status\n/);
    expect(run.stdout).toContain("        Node id 2 and err state 0x30000085 : HSM CLUSTER ERROR: Server in cluster is unavailable\n");
  } finally {
    await control.nodeUp(2);
  }
  expect(foundHandles(await kmu("findKey", "-l", "min-srv"))).toEqual([]);
});

test("--json: the CloudHSM CLI envelope on success and failure", async () => {
  const material = randomBytes(16);
  const run = await kmu("--json", "imSymKey", "-f", keyFile("j.bin", material), "-w", String(wrappingKey), "-t", "31", "-l", "json-key");
  expect(run.code).toBe(0);
  const ok = JSON.parse(run.stdout) as { error_code: number; data: { key_handle: number; steps: unknown[]; node_statuses: { err_state: string }[] } };
  expect(ok.error_code).toBe(0);
  expect(ok.data.steps).toEqual(
    ["Cfm3WrapHostKey", "Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"].map((name) => ({ name, return_code: "0x00", description: OK })),
  );
  expect(ok.data.node_statuses.map((n) => n.err_state)).toEqual(["0x00000000", "0x00000000", "0x00000000"]);

  const attr = JSON.parse((await kmu("--json", "getAttribute", "-o", String(ok.data.key_handle), "-a", "371", "-out", "j.txt")).stdout) as unknown;
  expect(attr).toMatchObject({ error_code: 0, data: { attributes: { OBJ_ATTR_KCV: `0x${aesKcv(material)}` }, attr_count: 1 } });
  const found = JSON.parse((await kmu("--json", "findKey", "-l", "json-key")).stdout) as unknown;
  expect(found).toMatchObject({ error_code: 0, data: { total_key_count: 1, matched_handles: [ok.data.key_handle] } });

  const missing = await kmu("--json", "getAttribute", "-o", "999999", "-a", "371", "-out", "j.txt");
  expect(missing.code).toBe(1);
  expect(JSON.parse(missing.stdout)).toMatchObject({ error_code: 0xa8, data: { reason: "KEY_NOT_FOUND", step: "Cfm3GetAttribute", return_code: "0xa8" } });
  expect(missing.stderr).toBe("");

  const usage = await kmu("--json", "imSymKey", "-f", "j.bin");
  expect(usage.code).toBe(2);
  expect(JSON.parse(usage.stdout)).toEqual({ error_code: 1, data: { reason: "USAGE", message: "imSymKey: -w is required" } });
});

test("one-shot login failures and missing credentials", async () => {
  const wrong = await runKmu(["findKey"], { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: "wrong-password" } });
  expect(wrong.code).toBe(1);
  expect(wrong.stdout).toBe("\n        Cfm3LoginHSM returned: 0xa3 : HSM Error: RET_USER_LOGIN_FAILURE\n");
  const none = await runKmu(["findKey"], { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address } });
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("set KMU_USER and KMU_PASSWORD");
  const flags = await runKmu(["--user", DEV_USER, "--password", DEV_PASSWORD, "--server", daemon.address, "findKey", "-l", "wrapping-key"], { cwd: work });
  expect(flags.code).toBe(0);
  expect(foundHandles(flags)).toEqual([wrappingKey]);
});

test("bin/kmu.js runs the compiled CLI, and says how to build it when dist is missing", async () => {
  const viaBin = await runKmu(["Error2String", "-r", "0xc6"], { script: KMU_BIN });
  expect(viaBin.stdout).toBe("\n        Error Code c6 maps to HSM Error: Key Access is denied.\n");
  const lonely = join(makeTempDir("lch-kmu-bin-"), "bin");
  mkdirSync(lonely);
  copyFileSync(KMU_BIN, join(lonely, "kmu.js"));
  const unbuilt = await runKmu(["Error2String", "-r", "0xc6"], { script: join(lonely, "kmu.js") });
  expect(unbuilt).toEqual({ code: 2, stdout: "", stderr: "kmu: run `npm run build` first\n" });
});
