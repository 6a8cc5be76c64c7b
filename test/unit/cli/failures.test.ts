// Errors become the KMU line of the failing step: the code and text from ErrorInfo metadata, the step from "step", node states from "node_states".
import * as grpc from "@grpc/grpc-js";
import { HsmClientError } from "../../../clients/errors";
import { LocalError, parseNodeStates, toFailure } from "../../../src/cli/failures";
import { jsonEnvelope } from "../../../src/cli/jsonView";
import { imSymKeyFailureStep } from "../../../src/cli/commands/imSymKey";

const ADDRESS = "127.0.0.1:2225";

test("the step named in metadata wins over the command's main step", () => {
  const err = new HsmClientError(grpc.status.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED", {
    kmu_return_code: "0x110",
    kmu_return_text: "HSM Error: Unwrap integrity check failed",
    step: "Cfm3UnWrapKey",
  }, "the wrapped key does not unwrap with the wrapping key");
  const failure = toFailure(err, "Cfm3WrapHostKey", ADDRESS);
  expect(failure.text).toBe("\n        Cfm3UnWrapKey returned: 0x110 : HSM Error: Unwrap integrity check failed\n");
  expect(failure.errorCode).toBe(0x110);
  expect(JSON.parse(jsonEnvelope(failure))).toEqual({
    error_code: 272,
    data: {
      reason: "UNWRAP_INTEGRITY_FAILED",
      message: "UNWRAP_INTEGRITY_FAILED: the wrapped key does not unwrap with the wrapping key",
      step: "Cfm3UnWrapKey",
      return_code: "0x110",
      description: "HSM Error: Unwrap integrity check failed",
      metadata: { kmu_return_code: "0x110", kmu_return_text: "HSM Error: Unwrap integrity check failed", step: "Cfm3UnWrapKey" },
    },
  });
});

test("without a step the command's main step is used; MIN_SRV_UNMET prints each node's state", () => {
  const err = new HsmClientError(grpc.status.UNAVAILABLE, "MIN_SRV_UNMET", {
    kmu_return_code: "0x30",
    kmu_return_text: "HSM Error: Key could not be synchronized to the minimum number of servers",
    node_states: "0:0x00000000:held,1:0x00000000,2:0x30000085",
  }, "min_srv 3 not met");
  expect(toFailure(err, "Cfm3UnWrapKey", ADDRESS).text).toBe(
    "\n        Cfm3UnWrapKey returned: 0x30 : HSM Error: Key could not be synchronized to the minimum number of servers\n\n" +
      "        Cluster Error Status\n" +
      "        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS\n" +
      "        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS\n" +
      "        Node id 2 and err state 0x30000085 : HSM CLUSTER ERROR: Server in cluster is unavailable\n",
  );
});

test("a daemon that does not answer reads as an unavailable cluster", () => {
  const err = new HsmClientError(grpc.status.UNAVAILABLE, "UNAVAILABLE", {}, "No connection established");
  const failure = toFailure(err, "Cfm3LoginHSM", ADDRESS);
  expect(failure.text).toBe("\n        Cfm3LoginHSM returned: 0x30000085 : HSM CLUSTER ERROR: Server in cluster is unavailable\n");
  expect(failure.message).toContain(`no answer from the daemon at ${ADDRESS}`);
});

test("kmu's own failures have error_code 1 and no KMU line", () => {
  const failure = toFailure(new LocalError('cannot read -f file "k.bin": ENOENT', "FILE_UNREADABLE"), "Cfm3WrapHostKey", ADDRESS);
  expect(failure).toMatchObject({ kind: "failure", text: "", errorCode: 1, reason: "FILE_UNREADABLE" });
});

test("node_states parsing skips what it cannot read", () => {
  expect(parseNodeStates("0:0x00000000:held,bogus,2:0x000000a8")).toEqual([
    { nodeId: 0, errState: 0, description: "HSM Return: SUCCESS", holdsKey: true },
    { nodeId: 2, errState: 0xa8, description: "HSM Error: Invalid object handle is passed to this operation", holdsKey: false },
  ]);
  expect(parseNodeStates(undefined)).toEqual([]);
});

test("imSymKey failures without a step in their metadata are attributed by meaning", () => {
  const err = (reason: string) => new HsmClientError(grpc.status.INVALID_ARGUMENT, reason, { kmu_return_code: "0x07" }, reason);
  expect(imSymKeyFailureStep(err("MIN_SRV_UNMET"), false)).toBe("Cfm3UnWrapKey");
  expect(imSymKeyFailureStep(err("ID_ALREADY_EXISTS"), false)).toBe("Cfm3CreateUnwrapTemplate");
  expect(imSymKeyFailureStep(err("SHARE_WITH_SELF"), true)).toBe("Cfm3CreateUnwrapTemplate");
  expect(imSymKeyFailureStep(err("KEY_NOT_FOUND"), false)).toBe("Cfm3WrapHostKey");
  expect(imSymKeyFailureStep(err("KEY_NOT_FOUND"), true)).toBe("Cfm3UnWrapKey");
});
