// The flags imSymKey and genSymKey share (-l -id -sess -attest -min_srv -timeout -u) and the outcome both print.
import { Attested } from "../../../clients/hsmClient";
import { NodeStatus, StepResult } from "../../../clients/generated/localcloudhsm/v1/common";
import { FlagTable, ParsedFlags, UsageError } from "../flagParser";
import { parseInteger, parseUserIds } from "../flagValues";
import { formatKeyCreation } from "../format/keyCreation";
import { jsonNodes, jsonSteps } from "../jsonView";
import { Outcome, success } from "../outcome";

export const NEW_KEY_FLAGS: FlagTable = {
  "-l": { kind: "value", required: true },
  "-id": { kind: "value" },
  "-sess": { kind: "switch" },
  "-attest": { kind: "switch" },
  "-min_srv": { kind: "value" },
  "-timeout": { kind: "value" },
  "-u": { kind: "value" },
};

/** The checked values of the shared flags, named as HsmClient's NewKeyOptions. */
export interface NewKeyParams {
  readonly label: string;
  readonly id?: string;
  readonly session: boolean;
  readonly attest: boolean;
  readonly minSrv?: number;
  readonly timeoutSeconds?: number;
  readonly shareWith?: number[];
}

/** HSMs per cluster are at most 28 (AWS quota), so -min_srv beyond that can never be met. */
const MAX_MIN_SRV = 28;

/**
 * -timeout is "valid only when the min_srv parameter is also used" (AWS): kmu refuses it alone as a usage
 * mistake rather than sending it, like every other malformed command line.
 */
export function checkNewKeyFlags(flags: ParsedFlags): NewKeyParams {
  return { label: flags.required("-l"), ...checkKeyOptions(flags) };
}

/** The shared flags other than -l (unWrapKey takes its label from the file's header when -l is absent). */
export function checkKeyOptions(flags: ParsedFlags): Omit<NewKeyParams, "label"> {
  const minSrvText = flags.value("-min_srv");
  const timeoutText = flags.value("-timeout");
  if (timeoutText !== undefined && minSrvText === undefined) throw new UsageError("-timeout is valid only together with -min_srv");
  const users = flags.value("-u");
  const id = flags.value("-id");
  return {
    ...(id !== undefined ? { id } : {}),
    session: flags.has("-sess"),
    attest: flags.has("-attest"),
    ...(minSrvText !== undefined ? { minSrv: parseInteger("-min_srv", minSrvText, 1, MAX_MIN_SRV) } : {}),
    ...(timeoutText !== undefined ? { timeoutSeconds: parseInteger("-timeout", timeoutText, 0) } : {}),
    ...(users !== undefined ? { shareWith: parseUserIds("-u", users) } : {}),
  };
}

/** What the daemon answered to a key creation. */
export interface Created extends Attested {
  readonly keyHandle: number;
  readonly steps: StepResult[];
  readonly nodeStatuses: NodeStatus[];
  readonly revision: string;
}

/**
 * The documented transcript; with -attest the verdict line sits between the handle and the cluster block.
 * A failed attestation makes the command fail (exit 1) even though the key exists: a script must not trust it.
 */
export function keyCreationOutcome(verb: "Unwrapped" | "Created", res: Created): Outcome {
  const text = formatKeyCreation(verb, {
    steps: res.steps,
    keyHandle: res.keyHandle,
    nodes: res.nodeStatuses,
    ...(res.attestation ? { attestationPassed: res.attestation.pass } : {}),
  });
  const data = {
    key_handle: res.keyHandle,
    steps: jsonSteps(res.steps),
    node_statuses: jsonNodes(res.nodeStatuses),
    revision: res.revision,
    ...(res.attestation ? { attestation: { pass: res.attestation.pass, problems: [...res.attestation.problems] } } : {}),
  };
  if (res.attestation && !res.attestation.pass) {
    return {
      kind: "failure",
      text,
      errorCode: 1,
      reason: "ATTESTATION_FAILED",
      message: `attestation check failed for key ${res.keyHandle}: ${res.attestation.problems.join("; ")}`,
      data,
    };
  }
  return success(text, data);
}
