// The shell and one-shot runners without a daemon: prompts, echo, comments, exit, usage mistakes and the exit status.
import { PassThrough } from "node:stream";
import { KmuClient } from "../../../clients/kmuClient";
import { KmuSession } from "../../../src/cli/kmuSession";
import { LineInput } from "../../../src/cli/lineInput";
import { runOneShot } from "../../../src/cli/oneShot";
import { runShell } from "../../../src/cli/shell";

/** Collects everything written to a stream. */
function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
  return { stream, text: () => chunks.join("") };
}

/** A session whose client is never called: nothing here needs the HSM (no connection is made until a call). */
function harness(script: string, json = false) {
  const stdin = new PassThrough();
  stdin.end(script);
  const stdout = sink();
  const stderr = sink();
  const client = new KmuClient("127.0.0.1:1");
  const input = new LineInput(stdin, { promptStream: json ? stderr.stream : stdout.stream, echo: !json });
  const session = new KmuSession(client, input, "127.0.0.1:1", { stdout: stdout.stream, stderr: stderr.stream }, json);
  return { session, input, stdout, stderr, close: () => (input.close(), client.close()) };
}

test("a piped session reads like a typed one: prompt, echoed command, output, blank line", async () => {
  const h = harness("# comments and blank lines are skipped\n\nError2String -r 0xdb\nexit\nError2String -r 0x00\n");
  try {
    expect(await runShell(h.session, h.input)).toBe(0);
    expect(h.stdout.text()).toBe(
      "Command: # comments and blank lines are skipped\nCommand: \nCommand: Error2String -r 0xdb\n\n        Error Code db maps to HSM Error: Invalid User Type.\n\nCommand: exit\n",
    );
    expect(h.stderr.text()).toBe("");
  } finally {
    h.close();
  }
});

test("a usage mistake prints the help, the session goes on, and the status says something failed", async () => {
  const h = harness("Error2String -r db\nError2String -r 0xc6\n");
  try {
    expect(await runShell(h.session, h.input)).toBe(1);
    expect(h.stdout.text()).toContain("Syntax: Error2String -h");
    expect(h.stdout.text()).toContain("Error Code c6 maps to HSM Error: Key Access is denied.");
    expect(h.stdout.text().endsWith("Command: \n")).toBe(true);
    expect(h.stderr.text()).toBe('kmu: Error2String: -r must be a hex code with the 0x prefix, e.g. 0xdb; got "db"\n');
  } finally {
    h.close();
  }
});

test("--json: no prompt on stdout, one JSON line per command", async () => {
  const h = harness('Error2String -r 0xa8\nfindKey -l "unterminated\nquit\n', true);
  try {
    expect(await runShell(h.session, h.input)).toBe(1);
    const lines = h.stdout.text().trimEnd().split("\n").map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { error_code: 0, data: { code: "0xa8", text: "HSM Error: Invalid object handle is passed to this operation", known: true, source: "aws" } },
      { error_code: 1, data: { reason: "USAGE", message: "unterminated double quote" } },
    ]);
  } finally {
    h.close();
  }
});

test("one-shot: a usage mistake is refused before any login, and a command needing a login needs credentials", async () => {
  const h = harness("");
  try {
    expect(await runOneShot(["imSymKey", "-f", "k.bin"], h.session, { user: "alice", password: "pw" })).toBe(2);
    expect(h.stdout.text()).toContain("Syntax: imSymKey -h");
    expect(await runOneShot(["findKey"], h.session, {})).toBe(2);
    expect(h.stderr.text()).toContain("findKey needs a login: set KMU_USER and KMU_PASSWORD");
    expect(await runOneShot(["Error2String", "-r", "0x90"], h.session, {})).toBe(0);
    expect(h.stdout.text()).toContain("Error Code 90 maps to HSM Error: Invalid session handle passed in the command");
  } finally {
    h.close();
  }
});

test("prompts read the line after the command; end of input answers nothing", async () => {
  const stdin = new PassThrough();
  stdin.end("first\nsecret\n");
  const out = sink();
  const input = new LineInput(stdin, { promptStream: out.stream, echo: true });
  try {
    expect(await input.ask("Q1: ")).toBe("first");
    expect(await input.ask("Password: ", { hidden: true })).toBe("secret");
    expect(await input.ask("Q3: ")).toBeUndefined();
    // The answer to a hidden prompt is never echoed.
    expect(out.text()).toBe("Q1: first\nPassword: \nQ3: \n");
  } finally {
    input.close();
  }
});
