// The --json form: CloudHSM CLI's envelope {"error_code":0,"data":{...}} with snake_case fields and hex codes as text.
import { hexCode, hexErrState, NodeLine } from "./format/transcript";
import { StepLine } from "./format/keyCreation";
import { LOCAL_ERROR_CODE, Outcome } from "./outcome";

/** A step as JSON: {"name":"Cfm3UnWrapKey","return_code":"0x00","description":"HSM Return: SUCCESS"}. */
export function jsonSteps(steps: readonly StepLine[]): object[] {
  return steps.map((s) => ({ name: s.name, return_code: hexCode(s.returnCode), description: s.description }));
}

/** Node states as JSON; holds_key only for key operations (it means nothing for a login or a search). */
export function jsonNodes(nodes: readonly (NodeLine & { holdsKey?: boolean })[], withHoldsKey = true): object[] {
  return nodes.map((n) => ({
    node_id: n.nodeId,
    err_state: hexErrState(n.errState),
    description: n.description,
    ...(withHoldsKey && n.holdsKey !== undefined ? { holds_key: n.holdsKey } : {}),
  }));
}

/** The envelope of any outcome, as one line. */
export function jsonEnvelope(outcome: Outcome): string {
  switch (outcome.kind) {
    case "success":
      return JSON.stringify({ error_code: 0, data: outcome.data });
    case "help":
      return JSON.stringify({ error_code: 0, data: { help: outcome.text } });
    case "failure":
      return JSON.stringify({ error_code: outcome.errorCode, data: { reason: outcome.reason, message: outcome.message, ...outcome.data } });
    case "usage":
      return JSON.stringify({ error_code: LOCAL_ERROR_CODE, data: { reason: "USAGE", message: outcome.message } });
  }
}
