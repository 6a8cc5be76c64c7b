// Reads the shell's commands and the answers to prompts (passwords, setAttribute's value) from one input stream.
//
// Commands and prompt answers share one queue of lines, so a script piped into `kmu` can answer a prompt
// on the line after the command. On a terminal, readline edits the line; a hidden prompt (-hpswd) mutes
// everything readline would echo.
import * as readline from "node:readline";
import { Writable } from "node:stream";

/** What commands may ask of the user. */
export interface Prompter {
  /** Writes `prompt` and resolves with the next line, or undefined at the end of input. */
  ask(prompt: string, options?: { hidden?: boolean }): Promise<string | undefined>;
  /** Writes an informational line where prompts go (before a question). */
  note(line: string): void;
}

/** Passes writes through to the terminal unless muted (while a password is typed). */
class MutableOutput extends Writable {
  muted = false;

  constructor(private readonly target: NodeJS.WritableStream) {
    super();
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.muted) this.target.write(chunk);
    callback();
  }
}

export interface LineInputOptions {
  /** Where prompts go: stdout, or stderr with --json so stdout stays pure JSON. */
  readonly promptStream: NodeJS.WritableStream;
  /** Echo each line read from a non-terminal after its prompt, so a piped session reads like a typed one. */
  readonly echo: boolean;
}

export class LineInput implements Prompter {
  private rl: readline.Interface | undefined;
  private output: MutableOutput | undefined;
  private readonly queued: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private ended = false;

  constructor(
    private readonly input: NodeJS.ReadableStream & { isTTY?: boolean },
    private readonly options: LineInputOptions,
  ) {}

  /** True when a person types at a terminal. */
  get interactive(): boolean {
    return this.input.isTTY === true;
  }

  note(line: string): void {
    this.options.promptStream.write(`${line}\n`);
  }

  async ask(prompt: string, options: { hidden?: boolean } = {}): Promise<string | undefined> {
    const rl = this.open();
    if (this.interactive) {
      if (options.hidden) {
        this.options.promptStream.write(prompt);
        rl.setPrompt("");
        this.output!.muted = true;
      } else {
        rl.setPrompt(prompt);
      }
      rl.prompt();
      const line = await this.next();
      if (options.hidden) {
        this.output!.muted = false;
        this.options.promptStream.write("\n");
      }
      return line;
    }
    this.options.promptStream.write(prompt);
    const line = await this.next();
    if (line === undefined) {
      // End of a piped script: finish the prompt's line.
      if (prompt !== "") this.options.promptStream.write("\n");
      return undefined;
    }
    if (this.options.echo && prompt !== "") this.options.promptStream.write(options.hidden ? "\n" : `${line}\n`);
    return line;
  }

  /** Stops reading; a pending ask() resolves with undefined. */
  close(): void {
    this.rl?.close();
  }

  /** Reading starts on the first ask(), so one-shot commands that never prompt leave stdin alone. */
  private open(): readline.Interface {
    if (this.rl) return this.rl;
    const interactive = this.interactive;
    this.output = new MutableOutput(this.options.promptStream);
    const rl = readline.createInterface({ input: this.input, output: interactive ? this.output : undefined, terminal: interactive });
    rl.on("line", (line) => this.push(line));
    rl.on("close", () => {
      this.ended = true;
      this.push(undefined);
    });
    // Ctrl-C at the prompt ends the shell like exit does (logging out first).
    rl.on("SIGINT", () => rl.close());
    this.rl = rl;
    return rl;
  }

  private push(line: string | undefined): void {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter(line);
    } else if (line !== undefined) {
      this.queued.push(line);
    }
  }

  private next(): Promise<string | undefined> {
    const line = this.queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
