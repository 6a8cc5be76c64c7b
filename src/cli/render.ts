// Prints an outcome: KMU text to stdout (messages for humans to stderr), or one JSON line with --json.
import { jsonEnvelope } from "./jsonView";
import { Outcome } from "./outcome";

/** Where kmu writes; injected so the shell and the tests can capture it. */
export interface Streams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export function render(outcome: Outcome, streams: Streams, json: boolean): void {
  if (json) {
    streams.stdout.write(`${jsonEnvelope(outcome)}\n`);
    return;
  }
  switch (outcome.kind) {
    case "success":
    case "help":
      streams.stdout.write(outcome.text);
      return;
    case "failure":
      streams.stdout.write(outcome.text);
      streams.stderr.write(`kmu: ${outcome.message}\n`);
      return;
    case "usage":
      streams.stderr.write(`kmu: ${outcome.message}\n`);
      // KMU prints a command's help on stdout; a script's transcript then shows what was expected.
      if (outcome.help !== undefined) streams.stdout.write(outcome.help);
      return;
  }
}
