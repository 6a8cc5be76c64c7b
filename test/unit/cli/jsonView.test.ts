// The --json envelope: CloudHSM CLI's {"error_code":0,"data":{...}}, the KMU code on failure, 1 for usage mistakes.
import { jsonEnvelope, jsonNodes, jsonSteps } from "../../../src/cli/jsonView";
import { localFailure, success } from "../../../src/cli/outcome";

test("success, help and usage", () => {
  expect(jsonEnvelope(success("text", { key_handle: 7 }))).toBe('{"error_code":0,"data":{"key_handle":7}}');
  expect(JSON.parse(jsonEnvelope({ kind: "help", text: "Syntax" }))).toEqual({ error_code: 0, data: { help: "Syntax" } });
  expect(JSON.parse(jsonEnvelope({ kind: "usage", message: "imSymKey: -f is required" }))).toEqual({
    error_code: 1,
    data: { reason: "USAGE", message: "imSymKey: -f is required" },
  });
  expect(JSON.parse(jsonEnvelope(localFailure("cannot read")))).toEqual({ error_code: 1, data: { reason: "LOCAL_ERROR", message: "cannot read" } });
});

test("steps and node states with hex codes as text", () => {
  expect(jsonSteps([{ name: "Cfm3UnWrapKey", returnCode: 0, description: "HSM Return: SUCCESS" }])).toEqual([
    { name: "Cfm3UnWrapKey", return_code: "0x00", description: "HSM Return: SUCCESS" },
  ]);
  const nodes = [{ nodeId: 2, errState: 0x30000085, description: "down", holdsKey: false }];
  expect(jsonNodes(nodes)).toEqual([{ node_id: 2, err_state: "0x30000085", description: "down", holds_key: false }]);
  expect(jsonNodes(nodes, false)).toEqual([{ node_id: 2, err_state: "0x30000085", description: "down" }]);
});
