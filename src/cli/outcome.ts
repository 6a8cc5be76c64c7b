// What one command produced, before it is printed as KMU text or as JSON: success, HSM failure, usage mistake, or help.

/** JSON-ready data of a result (the "data" member of the --json envelope). */
export type JsonData = Record<string, unknown>;

/** The command did what was asked. */
export interface Success {
  readonly kind: "success";
  /** KMU console text (stdout). */
  readonly text: string;
  readonly data: JsonData;
}

/** The HSM (or kmu, for files and connections) refused or failed; exit status 1. */
export interface Failure {
  readonly kind: "failure";
  /** KMU console text (stdout), e.g. the failing step's line; may be empty. */
  readonly text: string;
  /** The KMU return code, or 1 when kmu itself failed (files, no daemon answer with a code). */
  readonly errorCode: number;
  /** Stable reason: the daemon's ErrorInfo reason, or kmu's own (LOCAL_ERROR, ATTESTATION_FAILED). */
  readonly reason: string;
  /** A sentence for humans; printed to stderr after "kmu: ". */
  readonly message: string;
  readonly data: JsonData;
}

/** A usage mistake: nothing was sent; exit status 2. */
export interface UsageProblem {
  readonly kind: "usage";
  readonly message: string;
  /** The command's help, printed when it helps to see the syntax. */
  readonly help?: string;
}

/** -h: the command's help. */
export interface HelpShown {
  readonly kind: "help";
  readonly text: string;
}

export type Outcome = Success | Failure | UsageProblem | HelpShown;

/** error_code of failures that are kmu's own (usage, files), as CloudHSM CLI reports every failure. */
export const LOCAL_ERROR_CODE = 1;

export function success(text: string, data: JsonData): Success {
  return { kind: "success", text, data };
}

/** A failure kmu detected itself (unreadable file, bad file content): nothing or nothing more was sent. */
export function localFailure(message: string, reason = "LOCAL_ERROR", text = ""): Failure {
  return { kind: "failure", text, errorCode: LOCAL_ERROR_CODE, reason, message, data: {} };
}

/** Exit status of a one-shot run: 0 success or help, 1 failure, 2 usage mistake. */
export function exitStatus(outcome: Outcome): number {
  switch (outcome.kind) {
    case "success":
    case "help":
      return 0;
    case "failure":
      return 1;
    case "usage":
      return 2;
  }
}
