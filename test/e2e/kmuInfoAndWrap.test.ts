// kmu's info and wrap commands against a real daemon process: listAttributes, loginStatus, getHSMInfo,
// getPartitionInfo, aesWrapUnwrap (wrap then unwrap a file), and wrapKey -> unWrapKey with and without kmu's header.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aesKeyUnwrapPkcs5 } from "../../common/keyWrap";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, standardArgs } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv } from "./support/keyMaterial";
import { keyHandleOf, killAllKmu, KmuRun, runKmu } from "./support/kmuProcess";

const OK = "HSM Return: SUCCESS";
const closer = useDaemonCleanup("file");
let daemon: DaemonProcess;
let work: string;
let kek: Buffer;
let wrapping: number;

function kmu(...args: string[]): Promise<KmuRun> {
  return runKmu(args, { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: DEV_PASSWORD } });
}

async function ok(...args: string[]): Promise<KmuRun> {
  const run = await kmu(...args);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  return run;
}

beforeAll(async () => {
  const root = makeTempDir("lch-kmu-info-");
  work = join(root, "work");
  mkdirSync(work);
  daemon = await DaemonProcess.start(standardArgs(join(root, "data")));
  // A wrapping key whose plaintext this test knows, imported through a generated one.
  const importer = keyHandleOf(await ok("genSymKey", "-t", "31", "-s", "32", "-l", "importer"));
  kek = randomBytes(32);
  writeFileSync(join(work, "kek.bin"), kek);
  wrapping = keyHandleOf(await ok("imSymKey", "-f", "kek.bin", "-w", String(importer), "-t", "31", "-l", "kek"));
});

afterEach(() => {
  closer.closeAll();
  killAllKmu();
});

test("listAttributes needs no login; loginStatus, getHSMInfo and getPartitionInfo describe the session and the cluster", async () => {
  const listed = await runKmu(["listAttributes"], { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address } });
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain("      OBJ_ATTR_KCV                    = 371\n");

  const status = await ok("loginStatus");
  expect(status.stdout).toMatch(new RegExp(`^\\n {8}Login State {10}:Logged in as '${DEV_USER}\\(CU\\)'\\n {8}User Id {14}:\\d+\\n`));
  expect(status.stdout).toMatch(/Session Expires {6}:\d{4}-\d\d-\d\dT[\d:.]+Z\n\n {8}Cfm3GetLoginStatus returned: 0x00 : HSM Return: SUCCESS\n$/);

  const info = await ok("getHSMInfo");
  expect(info.stdout).toContain("        Getting HSM Info on 3 nodes\n");
  for (const n of [0, 1, 2]) expect(info.stdout).toContain(`        *** Node ${n} HSM Info ***\n`);
  expect(info.stdout).toContain("        Serial Number        :LCH-000003\n");
  expect(info.stdout.endsWith(`        Cfm3GetHSMInfo returned: 0x00 : ${OK}\n`)).toBe(true);

  const partition = await ok("--json", "getPartitionInfo");
  const data = (JSON.parse(partition.stdout) as { error_code: number; data: Record<string, number | string> }).data;
  // The importer and the KEK are token keys; this one-shot login is the only session.
  expect(data).toMatchObject({ name: "local-cloudhsm-partition", token_keys: 2, session_keys: 0, sessions: 1 });
});

test("aesWrapUnwrap: -m 1 wraps a file (the documented 24 -> 40 bytes), the host can unwrap it with the key, -m 0 gives it back", async () => {
  const plain = randomBytes(24);
  writeFileSync(join(work, "3DES.key"), plain);
  const wrapped = await ok("aesWrapUnwrap", "-f", "3DES.key", "-w", String(wrapping), "-m", "1", "-out", "3DES.key.wrapped");
  const blob = readFileSync(join(work, "3DES.key.wrapped"));
  expect(blob).toHaveLength(40);
  expect(aesKeyUnwrapPkcs5(kek, blob)).toEqual(plain);
  expect(wrapped.stdout).toContain("        Warning: IV (-i) is missing.\n                 0xA6A6A6A6A6A6A6A6 is considered as default IV\nresult data:\n");
  expect(wrapped.stdout).toContain(`${blob.subarray(0, 8).toString("hex").toUpperCase().match(/../g)!.join(" ")}\n`);
  expect(wrapped.stdout.endsWith(`\nresult written to file 3DES.key.wrapped\n\n        Cfm3WrapHostKey returned: 0x00 : ${OK}\n`)).toBe(true);

  const unwrapped = await ok("aesWrapUnwrap", "-m", "0", "-f", "3DES.key.wrapped", "-w", String(wrapping), "-i", "0xA6A6A6A6A6A6A6A6");
  expect(readFileSync(join(work, "unwrapped_key"))).toEqual(plain);
  expect(statSync(join(work, "unwrapped_key")).mode & 0o777).toBe(0o600);
  // The plaintext goes to the file only, never to the terminal.
  expect(unwrapped.stdout).toBe(`\nresult data:\n(24 bytes of plaintext, not shown: see the output file)\n\nresult written to file unwrapped_key\n\n        Cfm3UnWrapHostKey returned: 0x00 : ${OK}\n`);

  // A failure leaves an empty output file, as documented.
  writeFileSync(join(work, "garbage.bin"), randomBytes(40));
  const failed = await kmu("aesWrapUnwrap", "-m", "0", "-f", "garbage.bin", "-w", String(wrapping), "-out", "garbage.out");
  expect(failed.code).toBe(1);
  expect(failed.stdout).toMatch(/Cfm3UnWrapHostKey returned: 0x/);
  expect(readFileSync(join(work, "garbage.out"))).toHaveLength(0);
});

test("wrapKey -> unWrapKey: with kmu's header the key comes back with its type and label; -noheader with -kc -kt -l", async () => {
  const material = randomBytes(32);
  writeFileSync(join(work, "aes.bin"), material);
  const original = keyHandleOf(await ok("imSymKey", "-f", "aes.bin", "-w", String(wrapping), "-t", "31", "-l", "to-wrap"));

  for (const mechanism of ["4", "5", "6", "10"]) {
    const wrapped = await ok("wrapKey", "-k", String(original), "-w", String(wrapping), "-out", `wrapped-${mechanism}.key`, "-m", mechanism);
    const length = statSync(join(work, `wrapped-${mechanism}.key`)).size;
    expect(wrapped.stdout).toBe(`\n        Key Wrapped.\n\n        Wrapped Key written to file "wrapped-${mechanism}.key length ${length}\n\n        Cfm2WrapKey returned: 0x00 : ${OK}\n`);
    const back = await ok("unWrapKey", "-f", `wrapped-${mechanism}.key`, "-w", String(wrapping), "-m", mechanism);
    const handle = Number(/Key Unwrapped\. {2}Key Handle: (\d+)/.exec(back.stdout)![1]);
    expect(back.stdout).toMatch(new RegExp(`^\\n {8}Cfm3UnWrapKey returned: 0x00 : ${OK}\\n\\n {8}Key Unwrapped\\. {2}Key Handle: ${handle}\\n\\n {8}Cluster Error Status\\n`));
    // Same key material (KCV), label from the header.
    await ok("getAttribute", "-o", String(handle), "-a", "512", "-out", `attr-${mechanism}`);
    const attributes = readFileSync(join(work, `attr-${mechanism}`), "utf8");
    expect(attributes).toContain(`OBJ_ATTR_KCV\n0x${aesKcv(material)}\n`);
    expect(attributes).toContain("OBJ_ATTR_LABEL\nto-wrap\n");
  }

  await ok("wrapKey", "-k", String(original), "-w", String(wrapping), "-out", "bare.key", "-m", "5", "-noheader");
  // The bare blob is RFC 3394 of the key: 8 bytes longer.
  expect(statSync(join(work, "bare.key")).size).toBe(40);
  const noHeader = await ok("unWrapKey", "-f", "bare.key", "-w", String(wrapping), "-m", "5", "-noheader", "-l", "bare", "-kc", "4", "-kt", "31");
  expect(noHeader.stdout).toMatch(/Cfm3CreateUnwrapTemplate2 returned: 0x00 : HSM Return: SUCCESS\n {8}Cfm2UnWrapWithTemplate3 returned: 0x00 : HSM Return: SUCCESS\n\n {8}Key Unwrapped\. {2}Key Handle: \d+\n/);
  // Without -noheader a bare blob is refused by kmu itself, before any call.
  const refused = await kmu("unWrapKey", "-f", "bare.key", "-w", String(wrapping), "-m", "5");
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("no valid kmu wrapKey header");
});
