// The machinery of the documentation replay (kmuDocReplay.test.ts): the page's transcripts, the normalisations by
// name, and kmu's shell fed one command at a time.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { childEnv, DEV_PASSWORD, DEV_USER } from "./daemonProcess";
import { KMU_JS } from "./kmuProcess";

export const FIXTURES = join(__dirname, "..", "fixtures");
export const PROMPT = "Command: ";
/** A failure guard for one command's answer, never a sleep. */
export const ANSWER_GUARD_MS = 20_000;
/** An AES-256 key whose KCV is the page's 0xc33cbd (example 2's key 14). */
export const KEY_14 = Buffer.from("a580efca311c7ba68de8d7321944a38ef5d03f1a41ac8bf6dd38674200342f71", "hex");
export const GET_ATTRIBUTE_OK = "        Cfm3GetAttribute returned: 0x00 : HSM Return: SUCCESS";

// ---------------------------------------------------------------------------------------------------------------
// The documented transcripts

/** One command of a transcript: a kmu command ("Command: ...") or a host shell command ("$ ..."), with its output. */
export interface Step {
  readonly kind: "kmu" | "shell";
  /** The command as the page shows it, without "Command:" or "$" and the spaces after them. */
  readonly command: string;
  /** The page's first line of the step, verbatim. */
  readonly firstLine: string;
  /** The output lines that follow, trailing blank lines removed. */
  readonly output: string[];
}

/** Reads a fixture: its fenced blocks, split into steps (every block starts with a command line). */
export function transcript(name: string): Step[] {
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
export class Handles {
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
export function mapHandles(lines: readonly string[], replace: (n: number) => string): string[] {
  return lines.map((line) => {
    if (line.startsWith(PROMPT)) return line.replace(/(\s-[owk]\s+)(\d+)\b/g, (_, flag: string, n: string) => flag + replace(Number(n)));
    if (/^\d+(, \d+)*$/.test(line)) return line.split(", ").map((n) => replace(Number(n))).join(", ");
    return line
      .replace(/(Key Handle: )(\d+)$/, (_, label: string, n: string) => label + replace(Number(n)))
      .replace(/((?:public|private) key handle: )(\d+)/g, (_, label: string, n: string) => label + replace(Number(n)));
  });
}

/** A page that renders status lines at the margin (sign, verify, exportPubKey, importPubKey): a "Cfm..." line unindented. */
export function rendersAtMargin(step: Step): boolean {
  return step.output.some((line) => /^Cfm\d\w* returned:/.test(line));
}

/** Sorts the "Node id" lines of each "Cluster Error Status" block by node id. */
export function sortNodeLines(lines: readonly string[]): string[] {
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
export class Replay {
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
    return this.finish([first, ...mapHandles(this.margin(step, output), (n) => handles.placeholder(n, "page"))]);
  }

  /** kmu's output of a step, normalised the same way (`step` says whether its page renders at the margin). */
  actual(block: string, handles: Handles, step?: Step): string {
    const lines = block.replace(/\n+$/, "").split("\n");
    return this.finish(mapHandles(step ? this.margin(step, lines) : lines, (n) => handles.placeholder(n, "kmu")));
  }

  /** margin: on a page that renders status lines unindented, leading spaces are not compared (either side). */
  private margin(step: Step, lines: readonly string[]): string[] {
    if (!rendersAtMargin(step)) return [...lines];
    this.applied.add("margin");
    return lines.map((line) => line.trimStart());
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

/** SIGKILLs every kmu shell still running. For afterEach. */
export function killAllShells(): void {
  for (const child of liveShells) child.kill("SIGKILL");
  liveShells.clear();
}

/** kmu without a command (the shell), standard input a pipe; each command is written when the previous has answered. */
export class KmuShell {
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
export async function replayKmu(replay: Replay, shell: KmuShell, step: Step, handles: Handles): Promise<string> {
  expect(step.kind).toBe("kmu");
  const block = await shell.run(replay.command(step, handles));
  const pageHandle = step.output.map((l) => /Key Handle: (\d+)$/.exec(l)).find((m) => m !== null);
  const kmuHandle = /Key Handle: (\d+)$/m.exec(block);
  if (pageHandle && kmuHandle) handles.learn(Number(pageHandle[1]), Number(kmuHandle[1]));
  // A key pair: both handles of "public key handle: P    private key handle: Q".
  const pair = /public key handle: (\d+) +private key handle: (\d+)/;
  const pagePair = step.output.map((l) => pair.exec(l)).find((m) => m !== null);
  const kmuPair = pair.exec(block);
  if (pagePair && kmuPair) {
    handles.learn(Number(pagePair[1]), Number(kmuPair[1]));
    handles.learn(Number(pagePair[2]), Number(kmuPair[2]));
  }
  expect(replay.actual(block, handles, step)).toBe(replay.expected(step, handles));
  return block;
}

/** Replays "$ cat <file>" (reading `path`): cat prints exactly the page's lines. */
export function replayCat(step: Step, cwd: string, path: string): string {
  expect(step.kind).toBe("shell");
  expect(step.command).toMatch(/^cat \S+$/);
  const printed = execFileSync("cat", [path], { cwd, encoding: "utf8" });
  expect(printed).toBe(`${step.output.join("\n")}\n`);
  return printed;
}
