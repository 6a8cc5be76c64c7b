// Documentation replay: the three examples of the AWS imSymKey page (test/e2e/fixtures/imSymKey-example-*.md, the
// page's code blocks verbatim) run through kmu's shell, each command piped in when the previous one has answered,
// against real daemon processes; kmu's output is compared with the documented transcripts.
//
// Normalised before comparing, and nothing else (each test asserts it applied exactly these, by name):
//   handles      Handle numbers, only where a handle stands (the value of -o, -w or -k in a command,
//                "Key Handle: N", findKey's line of handles): the page's and kmu's are both replaced by a
//                placeholder named after the page's value (page 262180 <-> kmu 7, ...). File names that contain
//                a handle (attr_262180, attr_14_kcv) are names and stay as they are.
//   node-order   "Node id" lines within a "Cluster Error Status" block are sorted by node id (the page shows 1, 0, 2).
//   prompt       "Command:  " with two spaces reads "Command: " (README, kmu, "The prompt": the second space is
//                how the typed command was pasted).
//   attr-path    Example 1: "Attributes dumped into attributes/attr_262180_imported file" expects the real -out
//                path attributes/attr_262180 (README, kmu, getAttribute: an editing error on the page).
//   attr-status  Example 2, both getAttribute commands: the page omits "Cfm3GetAttribute returned: 0x00 : HSM
//                Return: SUCCESS"; it is expected after a blank line (README, kmu, getAttribute: always printed).
// Inputs on which the page contradicts itself (not kmu output):
//   openssl-out  Example 1: "openssl rand -out aes256-forImport.key 32" runs with -out aes256.key, the file the
//                page's prose names and its next command imports.
//   cat-path     Example 1: "cat attributes/attr_262180_local" reads attributes/attr_262180, the file getAttribute
//                wrote (no command on the page writes ..._local).
//   margin       Key-pair pages (keyPairs-examples.md): exportPubKey, importPubKey, sign and verify render their
//                status lines at the margin; on such a step leading spaces are not compared (README, kmu, key pairs:
//                kmu indents status lines 8 spaces everywhere).
// Not needed on this page: tab vs 8 spaces (it indents with 8 spaces; the fixtures are checked to hold no tab) and
// unindented copies (none here).
//
// Set-up the page assumes but does not show, run in the same shell session and not compared: loginHSM; the
// wrapping keys (genSymKey -t 31 -s 32: the page's 20, 6 and 262152); example 2's key 14, imported from a fixed
// key whose KCV is the page's 0xc33cbd (found by brute force, so the KCV lines compare verbatim); the attributes/
// directory; example 3's 3des192.key (openssl rand 24) and two decoys labelled temp. Example 3 runs on a fresh
// daemon, so its login is the daemon's first: session keys live on the session's node, and the first login's node
// is 0, the page's only node line.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, standardArgs } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv, des3Kcv } from "./support/keyMaterial";
import { killAllKmu, runKmu } from "./support/kmuProcess";
import { Handles, KEY_14, killAllShells, KmuShell, Replay, replayCat, replayKmu, Step, transcript } from "./support/docReplay";

let root: string;

beforeAll(() => {
  root = makeTempDir("lch-doc-replay-");
});

afterEach(() => {
  killAllShells();
  killAllKmu();
});

useDaemonCleanup("file");

/** A fresh daemon (its own data dir) and a fresh working directory. */
async function cluster(name: string): Promise<DaemonProcess> {
  return DaemonProcess.start(standardArgs(join(root, `${name}-data`)));
}

function workDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

test("Example: Import an AES symmetric key (openssl rand, imSymKey, getAttribute -a 355, cat)", async () => {
  const steps = transcript("imSymKey-example-1-import-aes.md");
  expect(steps.map((s) => `${s.kind} ${s.command.split(" ")[0]}`)).toEqual(["shell openssl", "kmu imSymKey", "kmu getAttribute", "shell cat"]);
  const [openssl, imSymKey, getAttribute, cat] = steps as [Step, Step, Step, Step];
  const replay = new Replay();
  const daemon = await cluster("ex1");
  const work = workDir("ex1");
  mkdirSync(join(work, "attributes"));

  // $  openssl rand -out aes256-forImport.key 32   (run with -out aes256.key: openssl-out)
  expect(openssl.command).toBe("openssl rand -out aes256-forImport.key 32");
  expect(openssl.output).toEqual([]);
  replay.applied.add("openssl-out");
  const printed = execFileSync("openssl", ["rand", "-out", "aes256.key", "32"], { cwd: work, encoding: "utf8" });
  expect(printed).toBe("");
  const material = readFileSync(join(work, "aes256.key"));
  expect(material).toHaveLength(32);

  const shell = await KmuShell.open(daemon.address, work);
  const handles = new Handles([[20, await shell.handleOf("genSymKey -t 31 -s 32 -l wrapping-key")]]);
  await replayKmu(replay, shell, imSymKey, handles);
  await replayKmu(replay, shell, getAttribute, handles);
  // $  cat attributes/attr_262180_local   (reads the -out file: cat-path)
  expect(cat.command).toBe("cat attributes/attr_262180_local");
  replay.applied.add("cat-path");
  replayCat(cat, work, "attributes/attr_262180");

  // The key imported is the file's: its KCV, read through kmu, is the one computed here.
  const imported = handles.kmuOf(262180);
  await shell.run(`getAttribute -o ${imported} -a 371 -out kcv.txt`);
  expect(readFileSync(join(work, "kcv.txt"), "utf8")).toBe(`OBJ_ATTR_KCV\n0x${aesKcv(material)}\n`);
  expect(await shell.exit()).toEqual({ code: 0, stderr: "", tail: "Command: exit\n" });

  expect([...replay.applied].sort()).toEqual(["attr-path", "cat-path", "handles", "node-order", "openssl-out", "prompt"]);
});

test("Example: Move a symmetric key between clusters (exSymKey on A, imSymKey on B, equal KCVs)", async () => {
  const steps = transcript("imSymKey-example-2-move-between-clusters.md");
  expect(steps.map((s) => `${s.kind} ${s.command.split(" ")[0]}`)).toEqual([
    "kmu exSymKey",
    "kmu imSymKey",
    "kmu getAttribute",
    "shell cat",
    "kmu getAttribute",
    "shell cat",
  ]);
  const [exSymKey, imSymKey, getAttributeA, catA, getAttributeB, catB] = steps as [Step, Step, Step, Step, Step, Step];
  const replay = new Replay();
  const [daemonA, daemonB] = await Promise.all([cluster("ex2-cluster1"), cluster("ex2-cluster2")]);
  expect(daemonA.port).not.toBe(daemonB.port);
  // One working directory: the user carries aes.key from cluster 1's key_mgmt_util to cluster 2's.
  const work = workDir("ex2");
  writeFileSync(join(work, "key-14.bin"), KEY_14);

  const shellA = await KmuShell.open(daemonA.address, work);
  const handlesA = new Handles([[6, await shellA.handleOf("genSymKey -t 31 -s 32 -l wrapping-key")]]);
  handlesA.learn(14, await shellA.handleOf(`imSymKey -f key-14.bin -w ${handlesA.kmuOf(6)} -t 31 -l key-14`));
  const shellB = await KmuShell.open(daemonB.address, work);
  const handlesB = new Handles([[262152, await shellB.handleOf("genSymKey -t 31 -s 32 -l wrapping-key")]]);

  await replayKmu(replay, shellA, exSymKey, handlesA);
  expect(readFileSync(join(work, "aes.key")).equals(KEY_14)).toBe(true);
  await replayKmu(replay, shellB, imSymKey, handlesB);
  await replayKmu(replay, shellA, getAttributeA, handlesA);
  const kcvA = replayCat(catA, work, "attr_14_kcv");
  await replayKmu(replay, shellB, getAttributeB, handlesB);
  const kcvB = replayCat(catB, work, "attr_21_kcv");

  // Equal KCVs, and the KCV of the material itself.
  expect(kcvA).toBe(kcvB);
  expect(kcvB).toBe(`OBJ_ATTR_KCV\n0x${aesKcv(KEY_14)}\n`);
  // The two clusters are separate: neither holds the other's import.
  expect(await shellA.run("findKey -l xcluster")).toContain("Total number of keys present 0\n");
  expect(await shellB.run("findKey -l key-14")).toContain("Total number of keys present 0\n");
  expect(await shellA.exit()).toEqual({ code: 0, stderr: "", tail: "Command: exit\n" });
  expect(await shellB.exit()).toEqual({ code: 0, stderr: "", tail: "Command: exit\n" });

  expect([...replay.applied].sort()).toEqual(["attr-status", "handles", "node-order", "prompt"]);
});

test("Example: Import a session key (3DES, -id, -sess, -attest; findKey -t 21 -l temp -id test01 -sess 1 finds exactly it)", async () => {
  const steps = transcript("imSymKey-example-3-session-key.md");
  expect(steps.map((s) => `${s.kind} ${s.command.split(" ")[0]}`)).toEqual(["kmu imSymKey", "kmu findKey"]);
  const [imSymKey, findKey] = steps as [Step, Step];
  const replay = new Replay();
  const daemon = await cluster("ex3");
  const work = workDir("ex3");
  expect(execFileSync("openssl", ["rand", "-out", "3des192.key", "24"], { cwd: work, encoding: "utf8" })).toBe("");
  const material = readFileSync(join(work, "3des192.key"));

  const shell = await KmuShell.open(daemon.address, work);
  const handles = new Handles([[6, await shell.handleOf("genSymKey -t 31 -s 32 -l wrapping-key")]]);
  // Decoys: a token 3DES key and another session 3DES key, both labelled temp.
  const tokenDecoy = await shell.handleOf("genSymKey -t 21 -s 24 -l temp -id test02");
  await shell.handleOf("genSymKey -t 21 -s 24 -l temp -id test03 -sess");

  await replayKmu(replay, shell, imSymKey, handles);
  await replayKmu(replay, shell, findKey, handles);

  const imported = handles.kmuOf(37);
  await shell.run(`getAttribute -o ${imported} -a 371 -out kcv.txt`);
  expect(readFileSync(join(work, "kcv.txt"), "utf8")).toBe(`OBJ_ATTR_KCV\n0x${des3Kcv(material)}\n`);
  expect(await shell.exit()).toEqual({ code: 0, stderr: "", tail: "Command: exit\n" });

  // "valid only in the current session": after the shell logged out, only the token decoy is labelled temp.
  const after = await runKmu(["findKey", "-l", "temp"], {
    cwd: work,
    env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: DEV_PASSWORD },
  });
  expect(after.stdout).toContain(`Total number of keys present 1\n\n number of keys matched from start index 0::0\n${tokenDecoy}\n`);

  expect([...replay.applied].sort()).toEqual(["handles", "node-order", "prompt"]);
});

test("Key-pair examples: listAttributes, genECCKeyPair, exportPubKey, importPubKey, sign, verify (one documented block each)", async () => {
  const steps = transcript("keyPairs-examples.md");
  expect(steps.map((s) => `${s.kind} ${s.command.split(" ")[0]}`)).toEqual([
    "kmu listAttributes",
    "kmu genECCKeyPair",
    "kmu exportPubKey",
    "kmu importPubKey",
    "kmu sign",
    "kmu verify",
  ]);
  const [listAttributes, genECCKeyPair, exportPubKey, importPubKey, sign, verify] = steps as [Step, Step, Step, Step, Step, Step];
  const replay = new Replay();
  const daemon = await cluster("pairs");
  const work = workDir("pairs");
  writeFileSync(join(work, "messageFile"), randomBytes(512));
  writeFileSync(join(work, "hardwareCert.crt"), randomBytes(900));

  const shell = await KmuShell.open(daemon.address, work);
  const pairOf = async (line: string): Promise<[number, number]> => {
    const match = /public key handle: (\d+) +private key handle: (\d+)/.exec(await shell.run(line));
    if (!match) throw new Error(`no key pair from "${line}"`);
    return [Number(match[1]), Number(match[2])];
  };
  // Set-up the pages assume: an RSA public key 10 to export; an RSA pair whose private key is 266309 and public
  // key 262276; hardwareCertSigned, the signature the verify example checks.
  const [exportable] = await pairOf("genRSAKeyPair -m 2048 -e 65537 -l exportable");
  const [signerPublic, signerPrivate] = await pairOf("genRSAKeyPair -m 2048 -e 65537 -l signer");
  const handles = new Handles([
    [10, exportable],
    [262276, signerPublic],
    [266309, signerPrivate],
  ]);
  expect(await shell.run(`sign -f hardwareCert.crt -k ${signerPrivate} -m 1 -out hardwareCertSigned`)).toContain("Cfm3Sign returned: 0x00");

  await replayKmu(replay, shell, listAttributes, handles);
  await replayKmu(replay, shell, genECCKeyPair, handles);
  await replayKmu(replay, shell, exportPubKey, handles);
  expect(readFileSync(join(work, "public.pem"), "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  await replayKmu(replay, shell, importPubKey, handles);
  await replayKmu(replay, shell, sign, handles);
  expect(readFileSync(join(work, "signedFile"))).toHaveLength(256);
  await replayKmu(replay, shell, verify, handles);
  // The imported public key is the exported one: the same PEM comes back out.
  await shell.run(`exportPubKey -k ${handles.kmuOf(262230)} -out again.pem`);
  expect(readFileSync(join(work, "again.pem"), "utf8")).toBe(readFileSync(join(work, "public.pem"), "utf8"));
  expect(await shell.exit()).toEqual({ code: 0, stderr: "", tail: "Command: exit\n" });

  expect([...replay.applied].sort()).toEqual(["handles", "margin", "node-order"]);
});
