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
// Not needed on this page: tab vs 8 spaces (it indents with 8 spaces; the fixtures are checked to hold no tab) and
// unindented copies (none here).
//
// Set-up the page assumes but does not show, run in the same shell session and not compared: loginHSM; the
// wrapping keys (genSymKey -t 31 -s 32: the page's 20, 6 and 262152); example 2's key 14, imported from a fixed
// key whose KCV is the page's 0xc33cbd (found by brute force, so the KCV lines compare verbatim); the attributes/
// directory; example 3's 3des192.key (openssl rand 24) and two decoys labelled temp. Example 3 runs on a fresh
// daemon, so its login is the daemon's first: session keys live on the session's node, and the first login's node
// is 0, the page's only node line.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childEnv, DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, standardArgs } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv, des3Kcv } from "./support/keyMaterial";
import { killAllKmu, KMU_JS, runKmu } from "./support/kmuProcess";

const FIXTURES = join(__dirname, "fixtures");
const PROMPT = "Command: ";
/** A failure guard for one command's answer, never a sleep. */
const ANSWER_GUARD_MS = 20_000;
/** An AES-256 key whose KCV is the page's 0xc33cbd (example 2's key 14). */
const KEY_14 = Buffer.from("a580efca311c7ba68de8d7321944a38ef5d03f1a41ac8bf6dd38674200342f71", "hex");
const GET_ATTRIBUTE_OK = "        Cfm3GetAttribute returned: 0x00 : HSM Return: SUCCESS";

// ---------------------------------------------------------------------------------------------------------------
// The documented transcripts

/** One command of a transcript: a kmu command ("Command: ...") or a host shell command ("$ ..."), with its output. */
interface Step {
  readonly kind: "kmu" | "shell";
  /** The command as the page shows it, without "Command:" or "$" and the spaces after them. */
  readonly command: string;
  /** The page's first line of the step, verbatim. */
  readonly firstLine: string;
  /** The output lines that follow, trailing blank lines removed. */
  readonly output: string[];
}

/** Reads a fixture: its fenced blocks, split into steps (every block starts with a command line). */
function transcript(name: string): Step[] {
  const text = readFileSync(join(FIXTURES, name), "utf8");
  expect(text).not.toContain("\t");
  const blocks = [...text.matchAll(/^```\n([\s\S]*?)^```$/gm)].map((m) => m[1]!.replace(/\n$/, "").split("\n"));
  const steps: { kind: "kmu" | "shell"; command: string; firstLine: string; output: string[] }[] = [];
  for (const lines of blocks) {
    let current: (typeof steps)[number] | undefined;
    for (const line of lines) {
      const kmu = /^Command:\s+(.*)$/.exec(line);
      const shell = /^\$\s+(.*)$/.exec(line);
      if (kmu || shell) {
        current = { kind: kmu ? "kmu" : "shell", command: (kmu ?? shell)![1]!, firstLine: line, output: [] };
        steps.push(current);
      } else {
        if (!current) throw new Error(`${name}: a block starts with "${line}", not a command`);
        current.output.push(line);
      }
    }
  }
  for (const step of steps) while (step.output.length > 0 && step.output[step.output.length - 1] === "") step.output.pop();
  return steps;
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation

/** The page's handles and kmu's, for one cluster: page value -> kmu value. */
class Handles {
  private readonly pageToKmu = new Map<number, number>();

  constructor(pairs: [page: number, kmu: number][] = []) {
    for (const [page, kmu] of pairs) this.learn(page, kmu);
  }

  learn(page: number, kmu: number): void {
    const known = this.pageToKmu.get(page);
    if (known !== undefined && known !== kmu) throw new Error(`page handle ${page} is already kmu handle ${known}, not ${kmu}`);
    for (const [otherPage, otherKmu] of this.pageToKmu) {
      if (otherKmu === kmu && otherPage !== page) throw new Error(`kmu handle ${kmu} is already page handle ${otherPage}`);
    }
    this.pageToKmu.set(page, kmu);
  }

  kmuOf(page: number): number {
    const kmu = this.pageToKmu.get(page);
    if (kmu === undefined) throw new Error(`page handle ${page} has no kmu handle yet`);
    return kmu;
  }

  /** The placeholder both sides get: named after the page's value. */
  placeholder(value: number, side: "page" | "kmu"): string {
    if (side === "page") return this.pageToKmu.has(value) ? `<handle ${value}>` : `<unmapped page handle ${value}>`;
    for (const [page, kmu] of this.pageToKmu) if (kmu === value) return `<handle ${page}>`;
    return `<unmapped kmu handle ${value}>`;
  }
}

/** Replaces the numbers standing where a handle stands: -o/-w/-k values, "Key Handle: N", findKey's handle line. */
function mapHandles(lines: readonly string[], replace: (n: number) => string): string[] {
  return lines.map((line) => {
    if (line.startsWith(PROMPT)) return line.replace(/(\s-[owk]\s+)(\d+)\b/g, (_, flag: string, n: string) => flag + replace(Number(n)));
    if (/^\d+(, \d+)*$/.test(line)) return line.split(", ").map((n) => replace(Number(n))).join(", ");
    return line.replace(/(Key Handle: )(\d+)$/, (_, label: string, n: string) => label + replace(Number(n)));
  });
}

/** Sorts the "Node id" lines of each "Cluster Error Status" block by node id. */
function sortNodeLines(lines: readonly string[]): string[] {
  const out = [...lines];
  const nodeLine = /^\s*Node id (\d+) and err state /;
  for (let i = 0; i < out.length; i++) {
    if (out[i]!.trim() !== "Cluster Error Status") continue;
    let end = i + 1;
    while (end < out.length && nodeLine.test(out[end]!)) end++;
    const block = out.slice(i + 1, end).sort((a, b) => Number(nodeLine.exec(a)![1]) - Number(nodeLine.exec(b)![1]));
    out.splice(i + 1, block.length, ...block);
  }
  return out;
}

/** One example's replay: the normalisations applied, by the names in the header comment. */
class Replay {
  readonly applied = new Set<string>();

  /** The page's transcript of a kmu step, normalised: what kmu must print. */
  expected(step: Step, handles: Handles): string {
    let first = `${PROMPT}${step.command}`;
    if (first !== step.firstLine) this.applied.add("prompt");
    let output = [...step.output];
    if (step.command.startsWith("getAttribute ")) {
      const out = /-out\s+(\S+)/.exec(step.command)![1]!;
      output = output.map((line) => {
        const dumped = /^Attributes dumped into (.*) file$/.exec(line);
        if (!dumped || dumped[1] === out) return line;
        this.applied.add("attr-path");
        return `Attributes dumped into ${out} file`;
      });
      if (!output.some((line) => line.includes("Cfm3GetAttribute returned:"))) {
        this.applied.add("attr-status");
        output.push("", GET_ATTRIBUTE_OK);
      }
    }
    first = mapHandles([first], (n) => handles.placeholder(n, "page"))[0]!;
    return this.finish([first, ...mapHandles(output, (n) => handles.placeholder(n, "page"))]);
  }

  /** kmu's output of a step, normalised the same way. */
  actual(block: string, handles: Handles): string {
    const lines = block.replace(/\n+$/, "").split("\n");
    return this.finish(mapHandles(lines, (n) => handles.placeholder(n, "kmu")));
  }

  /** The page's command with kmu's handles in place of the page's. */
  command(step: Step, handles: Handles): string {
    return mapHandles([`${PROMPT}${step.command}`], (n) => String(handles.kmuOf(n)))[0]!.slice(PROMPT.length);
  }

  private finish(lines: string[]): string {
    const sorted = sortNodeLines(lines);
    if (sorted.some((line, i) => line !== lines[i])) this.applied.add("node-order");
    if (lines.some((line) => /<handle \d+>/.test(line))) this.applied.add("handles");
    return sorted.join("\n");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// kmu's shell, fed one command at a time

const liveShells = new Set<ChildProcess>();

/** kmu without a command (the shell), standard input a pipe; each command is written when the previous has answered. */
class KmuShell {
  private stdout = "";
  private stderr = "";
  /** Where the prompt of the next command starts in stdout. */
  private next = 0;
  private waiter: (() => void) | undefined;
  private readonly child: ChildProcess;
  private readonly closed: Promise<number | null>;

  private constructor(address: string, cwd: string) {
    this.child = spawn(process.execPath, [KMU_JS], { cwd, env: childEnv({ LOCALCLOUDHSM_ADDRESS: address }), stdio: ["pipe", "pipe", "pipe"] });
    liveShells.add(this.child);
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
      this.waiter?.();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.closed = new Promise((resolve) => {
      this.child.once("close", (code) => {
        liveShells.delete(this.child);
        this.waiter?.();
        resolve(code);
      });
    });
  }

  /** Starts the shell, logs in as the dev crypto user (set-up: not compared) and returns it at a prompt. */
  static async open(address: string, cwd: string): Promise<KmuShell> {
    const shell = new KmuShell(address, cwd);
    await shell.until(() => shell.stdout === PROMPT, "the first prompt");
    expect(await shell.run(`loginHSM -u CU -s ${DEV_USER} -p ${DEV_PASSWORD}`)).toContain("Cfm3LoginHSM returned: 0x00 : HSM Return: SUCCESS");
    return shell;
  }

  /** Writes one command line and resolves with its block: "Command: <line>\n<output>" up to the next prompt. */
  async run(line: string): Promise<string> {
    const start = this.next;
    this.child.stdin!.write(`${line}\n`);
    const answered = (): boolean => this.stdout.length > start + PROMPT.length && this.stdout.endsWith(`\n${PROMPT}`);
    await this.until(answered, `the answer to "${line}"`);
    this.next = this.stdout.length - PROMPT.length;
    return this.stdout.slice(start, this.next);
  }

  /** Set-up command: runs it and returns the handle it printed. */
  async handleOf(line: string): Promise<number> {
    const block = await this.run(line);
    const match = /Key Handle: (\d+)/.exec(block);
    if (!match) throw new Error(`no handle from "${line}":\n${block}\n${this.stderr}`);
    return Number(match[1]);
  }

  /** "exit": kmu logs out and leaves; resolves with its status and whatever it wrote on stderr. */
  async exit(): Promise<{ code: number | null; stderr: string; tail: string }> {
    const start = this.next;
    this.child.stdin!.end("exit\n");
    const code = await this.closed;
    return { code, stderr: this.stderr, tail: this.stdout.slice(start) };
  }

  private until(condition: () => boolean, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`kmu: no ${what}\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`));
      }, ANSWER_GUARD_MS);
      guard.unref();
      this.waiter = () => {
        if (condition()) {
          clearTimeout(guard);
          this.waiter = undefined;
          resolve();
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(guard);
          this.waiter = undefined;
          reject(new Error(`kmu exited before ${what}\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`));
        }
      };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Steps

/** Replays a kmu step: runs the page's command with kmu's handles, learns the handle it creates, compares. */
async function replayKmu(replay: Replay, shell: KmuShell, step: Step, handles: Handles): Promise<string> {
  expect(step.kind).toBe("kmu");
  const block = await shell.run(replay.command(step, handles));
  const pageHandle = step.output.map((l) => /Key Handle: (\d+)$/.exec(l)).find((m) => m !== null);
  const kmuHandle = /Key Handle: (\d+)$/m.exec(block);
  if (pageHandle && kmuHandle) handles.learn(Number(pageHandle[1]), Number(kmuHandle[1]));
  expect(replay.actual(block, handles)).toBe(replay.expected(step, handles));
  return block;
}

/** Replays "$ cat <file>" (reading `path`): cat prints exactly the page's lines. */
function replayCat(step: Step, cwd: string, path: string): string {
  expect(step.kind).toBe("shell");
  expect(step.command).toMatch(/^cat \S+$/);
  const printed = execFileSync("cat", [path], { cwd, encoding: "utf8" });
  expect(printed).toBe(`${step.output.join("\n")}\n`);
  return printed;
}

// ---------------------------------------------------------------------------------------------------------------

let root: string;

beforeAll(() => {
  root = makeTempDir("lch-doc-replay-");
});

afterEach(() => {
  for (const child of liveShells) child.kill("SIGKILL");
  liveShells.clear();
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
