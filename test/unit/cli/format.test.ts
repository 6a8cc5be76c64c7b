// Golden tests: kmu's console text equals the AWS documentation's transcripts (facts sheet §1.4, §2.2, §3.4, §3.5, §6.3, §8, §9.2, §10).
import { formatError2String } from "../../../src/cli/format/error2String";
import { formatExSymKey } from "../../../src/cli/format/exSymKey";
import { formatFailure } from "../../../src/cli/format/failure";
import { formatFindKey } from "../../../src/cli/format/findKey";
import { formatGetAttribute } from "../../../src/cli/format/getAttribute";
import { formatKeyCreation } from "../../../src/cli/format/keyCreation";
import { formatKeyInfo } from "../../../src/cli/format/keyInfo";
import { formatListUsers, USERS_HEADER, userRow } from "../../../src/cli/format/listUsers";
import { formatStatusAndCluster } from "../../../src/cli/format/statusAndCluster";
import { hexCode, hexErrState } from "../../../src/cli/format/transcript";

const OK = "HSM Return: SUCCESS";
const ok = (nodeId: number) => ({ nodeId, errState: 0, description: OK });
const step = (name: string) => ({ name, returnCode: 0, description: OK });
const INVALID_HANDLE = "HSM Error: Invalid object handle is passed to this operation";

/** The documented transcript minus its "Command: ..." line (which the shell prints as prompt and echo). */
function afterCommandLine(doc: string): string {
  return doc.slice(doc.indexOf("\n") + 1);
}

describe("imSymKey (key_mgmt_util-imSymKey.md)", () => {
  test("the AES import example", () => {
    const doc = `Command:  imSymKey -f aes256.key -w 20 -t 31 -l imported

        Cfm3WrapHostKey returned: 0x00 : HSM Return: SUCCESS

        Cfm3CreateUnwrapTemplate returned: 0x00 : HSM Return: SUCCESS

        Cfm3UnWrapKey returned: 0x00 : HSM Return: SUCCESS

        Symmetric Key Unwrapped.  Key Handle: 262180

        Cluster Error Status
        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS
        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS
        Node id 2 and err state 0x00000000 : HSM Return: SUCCESS
`;
    const text = formatKeyCreation("Unwrapped", {
      steps: [step("Cfm3WrapHostKey"), step("Cfm3CreateUnwrapTemplate"), step("Cfm3UnWrapKey")],
      keyHandle: 262180,
      nodes: [ok(1), ok(0), ok(2)],
    });
    expect(text).toBe(afterCommandLine(doc));
  });

  test("the session key example with -attest: the verdict between the handle and the one node line", () => {
    const doc = `Command:  imSymKey -f 3des192.key -w 6 -t 21 -l temp -id test01 -sess -attest

        Cfm3WrapHostKey returned: 0x00 : HSM Return: SUCCESS

        Cfm3CreateUnwrapTemplate returned: 0x00 : HSM Return: SUCCESS

        Cfm3UnWrapKey returned: 0x00 : HSM Return: SUCCESS

        Symmetric Key Unwrapped.  Key Handle: 37

        Attestation Check : [PASS]

        Cluster Error Status
        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS
`;
    const text = formatKeyCreation("Unwrapped", {
      steps: [step("Cfm3WrapHostKey"), step("Cfm3CreateUnwrapTemplate"), step("Cfm3UnWrapKey")],
      keyHandle: 37,
      attestationPassed: true,
      nodes: [ok(0)],
    });
    expect(text).toBe(afterCommandLine(doc));
  });

  test("-wk: the steps the daemon reports, without Cfm3WrapHostKey; a failed attestation prints [FAIL]", () => {
    const text = formatKeyCreation("Unwrapped", {
      steps: [step("Cfm3CreateUnwrapTemplate"), step("Cfm3UnWrapKey")],
      keyHandle: 21,
      attestationPassed: false,
      nodes: [ok(0), ok(1)],
    });
    expect(text).toBe(
      "\n        Cfm3CreateUnwrapTemplate returned: 0x00 : HSM Return: SUCCESS\n\n        Cfm3UnWrapKey returned: 0x00 : HSM Return: SUCCESS\n\n" +
        "        Symmetric Key Unwrapped.  Key Handle: 21\n\n        Attestation Check : [FAIL]\n\n        Cluster Error Status\n" +
        "        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS\n        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS\n",
    );
  });
});

test("genSymKey (key_mgmt_util-genSymKey.md)", () => {
  const doc = `Command: genSymKey -t 31 -s 32 -l aes256

        Cfm3GenerateSymmetricKey returned: 0x00 : HSM Return: SUCCESS

        Symmetric Key Created.  Key Handle: 6

        Cluster Error Status
        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS
`;
  expect(formatKeyCreation("Created", { steps: [step("Cfm3GenerateSymmetricKey")], keyHandle: 6, nodes: [ok(0)] })).toBe(afterCommandLine(doc));
});

describe("findKey (key_mgmt_util-findKey.md, imSymKey.md)", () => {
  test("one match: count, blank, ' number of keys matched from start index 0::0', handles, cluster block BEFORE Cfm3FindKey", () => {
    const doc = `Command:  findKey -t 21 -l temp -id test01 -sess 1
Total number of keys present 1

 number of keys matched from start index 0::0
37

        Cluster Error Status
        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS
        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS
        Node id 2 and err state 0x00000000 : HSM Return: SUCCESS

        Cfm3FindKey returned: 0x00 : HSM Return: SUCCESS
`;
    expect(formatFindKey({ total: 1, handles: [37], nodes: [ok(1), ok(0), ok(2)] })).toBe(afterCommandLine(doc));
  });

  test("several matches: M = N - 1 and the handles joined with ', '", () => {
    const text = formatFindKey({ total: 5, handles: [6, 7, 524296, 9, 262154], nodes: [ok(0)] });
    expect(text.split("\n").slice(0, 4)).toEqual(["Total number of keys present 5", "", " number of keys matched from start index 0::4", "6, 7, 524296, 9, 262154"]);
  });

  test("no match: no matched line and no handle line", () => {
    expect(formatFindKey({ total: 0, handles: [], nodes: [ok(0), ok(1)] })).toBe(
      "Total number of keys present 0\n\n        Cluster Error Status\n        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS\n" +
        "        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS\n\n        Cfm3FindKey returned: 0x00 : HSM Return: SUCCESS\n",
    );
  });
});

describe("getAttribute (key_mgmt_util-getAttribute.md, imSymKey.md)", () => {
  test("one attribute: the dump message, a blank line and the status line", () => {
    // The page echoes "attr_262180_imported", not the -out path: an editing error (facts §2.2); kmu echoes -out.
    const doc = `Command:  getAttribute -o 262180 -a 355 -out attributes/attr_262180
Attributes dumped into attributes/attr_262180 file

        Cfm3GetAttribute returned: 0x00 : HSM Return: SUCCESS
`;
    expect(formatGetAttribute({ outFile: "attributes/attr_262180", all: false, size: 26, attributeCount: 1 })).toBe(afterCommandLine(doc));
  });

  test("512: 'got all attributes of size <bytes> attr cnt <count>' first", () => {
    const doc = `Command:  getAttribute -o 7 -a 512 -out attr_7
got all attributes of size 444 attr cnt 17
Attributes dumped into attr_7 file

        Cfm3GetAttribute returned: 0x00 : HSM Return: SUCCESS
`;
    expect(formatGetAttribute({ outFile: "attr_7", all: true, size: 444, attributeCount: 17 })).toBe(afterCommandLine(doc));
  });
});

test("exSymKey (key_mgmt_util-imSymKey.md, cross-cluster example): two blank lines before the file message", () => {
  const doc = `Command: exSymKey -k 14 -w 6 -out aes.key

        Cfm3WrapKey returned: 0x00 : HSM Return: SUCCESS

        Cfm3UnWrapHostKey returned: 0x00 : HSM Return: SUCCESS


Wrapped Symmetric Key written to file "aes.key"
`;
  expect(formatExSymKey([step("Cfm3WrapKey"), step("Cfm3UnWrapHostKey")], "aes.key")).toBe(afterCommandLine(doc));
  // -wk: the host unwraps, so the Cfm3UnWrapHostKey line is missing.
  expect(formatExSymKey([step("Cfm3WrapKey")], "k")).toBe(
    '\n        Cfm3WrapKey returned: 0x00 : HSM Return: SUCCESS\n\n\nWrapped Symmetric Key written to file "k"\n',
  );
});

describe("status and cluster block (deleteKey, loginHSM, logoutHSM, setAttribute, findSingleKey)", () => {
  test("deleteKey success (key_mgmt_util-deleteKey.md)", () => {
    const doc = `Command: deleteKey -k 6

        Cfm3DeleteKey returned: 0x00 : HSM Return: SUCCESS

        Cluster Error Status
        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS
        Node id 2 and err state 0x00000000 : HSM Return: SUCCESS
`;
    expect(formatStatusAndCluster("Cfm3DeleteKey", [ok(1), ok(2)])).toBe(afterCommandLine(doc));
  });

  test("loginHSM in the 8-space layout of the other status blocks", () => {
    expect(formatStatusAndCluster("Cfm3LoginHSM", [ok(0)])).toBe(
      "\n        Cfm3LoginHSM returned: 0x00 : HSM Return: SUCCESS\n\n        Cluster Error Status\n        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS\n",
    );
  });

  test("an unreachable node's err state (facts §9.2)", () => {
    const down = { nodeId: 0, errState: 0x30000085, description: "HSM CLUSTER ERROR: Server in cluster is unavailable" };
    expect(formatStatusAndCluster("Cfm3FindKey", [down])).toContain(
      "        Node id 0 and err state 0x30000085 : HSM CLUSTER ERROR: Server in cluster is unavailable\n",
    );
  });
});

describe("failures", () => {
  test("deleteKey on a handle that does not exist (key_mgmt_util-deleteKey.md)", () => {
    const doc = `Command: deleteKey -k 252126

        Cfm3FindKey returned: 0xa8 : HSM Error: Invalid object handle is passed to this operation

        Cluster Error Status
        Node id 1 and err state 0x000000a8 : HSM Error: Invalid object handle is passed to this operation
        Node id 2 and err state 0x000000a8 : HSM Error: Invalid object handle is passed to this operation
`;
    const nodes = [1, 2].map((nodeId) => ({ nodeId, errState: 0xa8, description: INVALID_HANDLE }));
    expect(formatFailure({ step: "Cfm3FindKey", code: 0xa8, text: INVALID_HANDLE, nodes })).toBe(afterCommandLine(doc));
  });

  test("access denied has no node lines; codes above one byte print in full", () => {
    expect(formatFailure({ step: "Cfm3DeleteKey", code: 0xc6, text: "HSM Error: Key Access is denied." })).toBe(
      "\n        Cfm3DeleteKey returned: 0xc6 : HSM Error: Key Access is denied.\n",
    );
    expect(formatFailure({ step: "Cfm3UnWrapKey", code: 0x110, text: "HSM Error: Unwrap integrity check failed" })).toBe(
      "\n        Cfm3UnWrapKey returned: 0x110 : HSM Error: Unwrap integrity check failed\n",
    );
  });
});

test("getKeyInfo (facts §3.5)", () => {
  const doc = `Command:  getKeyInfo -k 262162

        Cfm3GetKey returned: 0x00 : HSM Return: SUCCESS

        Owned by user 3

        also, shared to following 2 user(s):

                 4, 5
`;
  expect(formatKeyInfo({ owner: 3, sharedWith: [4, 5] })).toBe(afterCommandLine(doc));
  expect(formatKeyInfo({ owner: 3, sharedWith: [] })).toBe("\n        Cfm3GetKey returned: 0x00 : HSM Return: SUCCESS\n\n        Owned by user 3\n");
});

describe("listUsers (facts §8.5)", () => {
  test("rows line up with the documented table", () => {
    expect(userRow(1, { userId: 1, userType: "PCO", username: "admin", loginFailureCount: 0 })).toBe(
      "1                1      PCO             admin                     NO               0               NO",
    );
    expect(userRow(2, { userId: 2, userType: "AU", username: "app_user", loginFailureCount: 0 })).toBe(
      "2                2      AU              app_user                  NO               0               NO",
    );
    expect(USERS_HEADER).toBe("Index       User ID     User Type       User Name           MofnPubKey    LoginFailureCnt         2FA");
  });

  test("the whole output", () => {
    expect(formatListUsers([{ userId: 3, userType: "CU", username: "alice", loginFailureCount: 2 }])).toBe(
      "\n        Number Of Users found 1\n\n" +
        `        ${USERS_HEADER}\n` +
        "        1                3      CU              alice                     NO               2               NO\n\n" +
        "        Cfm3ListUsers returned: 0x00 : HSM Return: SUCCESS\n",
    );
  });
});

test("Error2String (key_mgmt_util-Error2String.md)", () => {
  expect(formatError2String(0xdb, "HSM Error: Invalid User Type.")).toBe("\n        Error Code db maps to HSM Error: Invalid User Type.\n");
});

test("code widths: return codes at least 2 hex digits, node err states always 8", () => {
  expect([0, 0xa8, 0x110, 0x30000085].map(hexCode)).toEqual(["0x00", "0xa8", "0x110", "0x30000085"]);
  expect([0, 0xa8, 0x30000085].map(hexErrState)).toEqual(["0x00000000", "0x000000a8", "0x30000085"]);
});
