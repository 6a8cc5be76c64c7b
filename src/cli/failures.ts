// Turns anything a command throws into a Failure: the daemon's KMU code, text and step from ErrorInfo, or kmu's own error.
import * as grpc from "@grpc/grpc-js";
import { HsmClientError } from "../../clients/errors";
import { RETURN_CODES, returnCodeText } from "../../common/returnCodes";
import { formatFailure } from "./format/failure";
import { hexCode, NodeLine } from "./format/transcript";
import { jsonNodes } from "./jsonView";
import { Failure, localFailure } from "./outcome";

/** A failure kmu detects itself, such as an unreadable key file; nothing (more) is sent. */
export class LocalError extends Error {
  constructor(
    message: string,
    readonly reason = "LOCAL_ERROR",
  ) {
    super(message);
    this.name = "LocalError";
  }
}

/**
 * MIN_SRV_UNMET carries "node_states" as "0:0x00000000:held,1:0x30000085"; each entry becomes a node line
 * of the cluster block. Malformed entries are skipped rather than failing the report of a failure.
 */
export function parseNodeStates(text: string | undefined): (NodeLine & { holdsKey: boolean })[] {
  if (!text) return [];
  const nodes: (NodeLine & { holdsKey: boolean })[] = [];
  for (const entry of text.split(",")) {
    const [id, state, held] = entry.split(":");
    if (id === undefined || state === undefined || !/^\d+$/.test(id) || !/^0x[0-9a-f]+$/i.test(state)) continue;
    const errState = Number.parseInt(state.slice(2), 16);
    nodes.push({ nodeId: Number(id), errState, description: returnCodeText(errState), holdsKey: held === "held" });
  }
  return nodes;
}

/** Codes for gRPC failures that carry no ErrorInfo: the daemon did not answer as an HSM. */
function codeWithoutErrorInfo(status: grpc.status): number {
  return status === grpc.status.UNAVAILABLE || status === grpc.status.DEADLINE_EXCEEDED ? RETURN_CODES.SERVER_UNAVAILABLE.code : RETURN_CODES.FUNCTION_FAILED.code;
}

/**
 * The failing step is the one the daemon names in metadata "step" (e.g. Cfm3UnWrapKey for an integrity
 * failure); otherwise the command's main step.
 */
export function toFailure(err: unknown, mainStep: string, address: string): Failure {
  if (err instanceof LocalError) return localFailure(err.message, err.reason);
  if (err instanceof HsmClientError) {
    const fromDaemon = err.kmuReturnCode !== undefined;
    const code = err.kmuReturnCode ?? codeWithoutErrorInfo(err.code);
    const text = err.metadata.kmu_return_text ?? returnCodeText(code);
    const step = err.metadata.step ?? mainStep;
    const nodes = parseNodeStates(err.metadata.node_states);
    const message = fromDaemon ? `${err.reason}: ${err.message}` : `no answer from the daemon at ${address} (${grpc.status[err.code] ?? err.code}): ${err.message}`;
    return {
      kind: "failure",
      text: formatFailure({ step, code, text, nodes }),
      errorCode: code,
      reason: err.reason,
      message,
      data: { step, return_code: hexCode(code), description: text, ...(nodes.length > 0 ? { node_statuses: jsonNodes(nodes) } : {}), metadata: { ...err.metadata } },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return localFailure(message);
}
