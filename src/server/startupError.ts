// A start-up failure the operator can act on: printed as one line (`local-cloudhsm: <message>`), exit status 1.

/** A failure to start whose message already says what is wrong and with which file. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/**
 * The line printed for an error that stopped the start: the message only, folded onto one line, because
 * whatever went wrong (a bad file, a locked directory, a damaged store) is said there and a stack trace
 * would bury it. `withStack` (--log-level debug) appends the stack for a bug report.
 */
export function startupFailureLine(err: unknown, withStack: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = `local-cloudhsm: ${message.replace(/\s*\n\s*/g, " ").trim()}`;
  if (withStack && err instanceof Error && err.stack !== undefined) return `${line}\n${err.stack}`;
  return line;
}
