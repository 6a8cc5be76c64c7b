// The README's Quickstart, run as a new user pastes it: the daemon command of terminal 1, then each shell block of
// terminal 2 as written (bash -c with the block's text), and the example script, which must be examples/quickstart.ts
// verbatim. Only what the README leaves to the defaults is substituted: the daemon gets --listen 127.0.0.1:0 and a
// --data-dir in a temp dir (the README's npm start uses 127.0.0.1:2225 and ./.local-cloudhsm), and the terminal-2
// shells get LOCALCLOUDHSM_ADDRESS, which kmu and the script read. Terminal 2 works in a temp dir holding links to
// the repository's bin/ and dist/ (built by jest's globalSetup, as npm start builds them), so the files the README
// makes (aes256.key, kcv.txt, ...) never land in the repository.
import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { childEnv, DaemonProcess, makeTempDir, REPO_ROOT } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv } from "./support/keyMaterial";

const OK = "HSM Return: SUCCESS";
/** How long one block may run before it is killed and the test fails (a guard, never a sleep). */
const BLOCK_GUARD_MS = 30_000;

interface Block {
  readonly lang: string;
  readonly text: string;
}

interface BlockRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The fenced blocks of the README's "## Quickstart" section, in order. */
function quickstartBlocks(): Block[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Quickstart\n");
  if (start === -1) throw new Error("README.md has no ## Quickstart section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

const liveShells = new Set<ChildProcess>();

/** Runs a block's text with bash in `cwd`, as pasted into a terminal whose environment has only PATH and `env`. */
function paste(text: string, cwd: string, env: Record<string, string>): Promise<BlockRun> {
  const child = spawn("bash", ["--noprofile", "--norc", "-c", text], { cwd, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  liveShells.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`block did not finish:\n${text}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    }, BLOCK_GUARD_MS);
    guard.unref();
    child.once("error", (err) => {
      clearTimeout(guard);
      liveShells.delete(child);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(guard);
      liveShells.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

afterEach(() => {
  for (const child of liveShells) child.kill("SIGKILL");
  liveShells.clear();
});

useDaemonCleanup("file");

test("the Quickstart runs as written: kmu piped and one-shot, and the TypeScript example, all with the key file's KCV", async () => {
  const blocks = quickstartBlocks();
  expect(blocks.map((b) => b.lang)).toEqual(["sh", "sh", "sh", "sh", "ts", "sh"]);
  const [daemonBlock, pipedBlock, opensslKcvBlock, oneShotBlock, scriptBlock, runScriptBlock] = blocks as [Block, Block, Block, Block, Block, Block];

  // The script shown is the file that is built and run.
  expect(scriptBlock.text).toBe(readFileSync(join(REPO_ROOT, "examples", "quickstart.ts"), "utf8"));

  // Terminal 1: `npm start -- <flags>` is the build (done by globalSetup) and then the daemon with those flags.
  const started = /^npm start -- (.+)\n$/.exec(daemonBlock.text);
  expect(started).not.toBeNull();
  const startScript = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.start;
  expect(startScript).toMatch(/ && exec node dist\/src\/server\/main\.js$/);
  const root = makeTempDir("lch-quickstart-");
  const work = join(root, "terminal-2");
  mkdirSync(work);
  const daemon = await DaemonProcess.start([...started![1]!.split(" "), "--listen", "127.0.0.1:0", "--data-dir", join(work, ".local-cloudhsm")]);
  for (const dir of ["bin", "dist"]) symlinkSync(join(REPO_ROOT, dir), join(work, dir));
  const env = { LOCALCLOUDHSM_ADDRESS: daemon.address };

  // openssl makes the key file; the piped session imports it through wrapping key 6 as key 7 and reads its KCV.
  const piped = await paste(pipedBlock.text, work, env);
  expect({ code: piped.code, stderr: piped.stderr }).toEqual({ code: 0, stderr: "" });
  const material = readFileSync(join(work, "aes256.key"));
  expect(material).toHaveLength(32);
  const kcv = aesKcv(material);
  expect(piped.stdout).toContain(`Command: loginHSM -u CU -s alice -p password1\n\n        Cfm3LoginHSM returned: 0x00 : ${OK}\n`);
  expect(piped.stdout).toContain(`        Symmetric Key Created.  Key Handle: 6\n`);
  expect(piped.stdout).toContain(`Command: imSymKey -f aes256.key -w 6 -t 31 -l imported\n\n        Cfm3WrapHostKey returned: 0x00 : ${OK}\n`);
  expect(piped.stdout).toContain(`        Symmetric Key Unwrapped.  Key Handle: 7\n`);
  expect(piped.stdout).toContain(`Command: getAttribute -o 7 -a 371 -out kcv.txt\nAttributes dumped into kcv.txt file\n\n        Cfm3GetAttribute returned: 0x00 : ${OK}\n`);
  expect(piped.stdout).toContain(`Command: findKey -l imported\nTotal number of keys present 1\n\n number of keys matched from start index 0::0\n7\n`);
  // The last lines are kmu leaving and `cat kcv.txt`.
  expect(piped.stdout.endsWith(`Command: exit\nOBJ_ATTR_KCV\n0x${kcv}\n`)).toBe(true);

  // openssl computes the same KCV from the file.
  const opensslKcv = await paste(opensslKcvBlock.text, work, env);
  expect({ code: opensslKcv.code, stderr: opensslKcv.stderr }).toEqual({ code: 0, stderr: "" });
  expect(opensslKcv.stdout.replace(/\s/g, "")).toBe(kcv);

  // One-shot: KMU_USER/KMU_PASSWORD, handles read from the saved output.
  const oneShot = await paste(oneShotBlock.text, work, env);
  expect({ code: oneShot.code, stderr: oneShot.stderr }).toEqual({ code: 0, stderr: "" });
  const wrap = Number(/Symmetric Key Created\. {2}Key Handle: (\d+)\n/.exec(readFileSync(join(work, "genSymKey.out"), "utf8"))?.[1]);
  const key = Number(/Symmetric Key Unwrapped\. {2}Key Handle: (\d+)\n/.exec(readFileSync(join(work, "imSymKey.out"), "utf8"))?.[1]);
  expect([wrap, key]).toEqual([8, 9]);
  expect(oneShot.stdout).toContain(`\n        Cfm3GenerateSymmetricKey returned: 0x00 : ${OK}\n\n        Symmetric Key Created.  Key Handle: ${wrap}\n`);
  expect(oneShot.stdout).toContain(`        Symmetric Key Unwrapped.  Key Handle: ${key}\n`);
  expect(oneShot.stdout).toContain(`Attributes dumped into kcv-2.txt file\n\n        Cfm3GetAttribute returned: 0x00 : ${OK}\nOBJ_ATTR_KCV\n0x${kcv}\n`);
  expect(oneShot.stdout).toContain(`Total number of keys present 1\n\n number of keys matched from start index 0::0\n${key}\n`);

  // The TypeScript example: the same KCV, and findKey finds exactly the key it imported.
  expect(runScriptBlock.text).toBe("node dist/examples/quickstart.js\n");
  const script = await paste(runScriptBlock.text, work, env);
  expect({ code: script.code, stderr: script.stderr }).toEqual({ code: 0, stderr: "" });
  const printed = /^imported key (\d+), KCV 0x([0-9a-f]{6})\nfindKey -l ts-imported: (.*)\n$/.exec(script.stdout);
  expect(printed).not.toBeNull();
  expect(printed![2]).toBe(kcv);
  expect(printed![3]).toBe(printed![1]);

  // Ctrl-C in terminal 1: the daemon stops cleanly.
  expect((await daemon.stop("SIGINT")).code).toBe(0);
});
