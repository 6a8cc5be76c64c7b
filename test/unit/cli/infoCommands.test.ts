// kmu's listAttributes, getHSMInfo, getPartitionInfo, loginStatus and aesWrapUnwrap without a daemon: flags, defaults,
// refusals, and their console text (the documented transcripts where AWS documents one).
import { aesWrapUnwrap, MAX_AES_WRAP_FILE_BYTES } from "../../../src/cli/commands/aesWrapUnwrap";
import { prepare, Prepared } from "../../../src/cli/dispatch";
import { parseFlags } from "../../../src/cli/flagParser";
import { formatAesWrapUnwrap, hexRows } from "../../../src/cli/format/aesWrapUnwrap";
import { fieldLine, formatHsmInfo, formatLoginStatus, formatPartitionInfo } from "../../../src/cli/format/infoBlocks";
import { formatListAttributes } from "../../../src/cli/format/listAttributes";

function refused(line: string): string {
  const prepared: Prepared = prepare(line.split(" "));
  if (prepared.kind !== "done" || prepared.outcome.kind !== "usage") throw new Error(`"${line}" was not refused: ${JSON.stringify(prepared)}`);
  return prepared.outcome.message;
}

function checkedAesWrap(line: string): ReturnType<typeof aesWrapUnwrap.check> {
  const parsed = parseFlags(line.split(" ").slice(1), aesWrapUnwrap.flags);
  if (parsed.help) throw new Error("help");
  return aesWrapUnwrap.check(parsed.flags);
}

describe("aesWrapUnwrap flags (key_mgmt_util-aesWrapUnwrap.md)", () => {
  test("the documented examples: -m 1 wraps, -m 0 unwraps, -out names the file", () => {
    expect(checkedAesWrap("aesWrapUnwrap -f 3DES.key -w 6 -m 1 -out 3DES.key.wrapped")).toEqual({
      mode: "wrap",
      file: "3DES.key",
      wrappingKey: 6,
      ivMissing: true,
      outFile: "3DES.key.wrapped",
    });
    expect(checkedAesWrap("aesWrapUnwrap -m 0 -f 3DES.key.wrapped -w 6 -out 3DES.key.unwrapped")).toMatchObject({ mode: "unwrap", outFile: "3DES.key.unwrapped" });
  });

  test("default output files wrapped_key and unwrapped_key; the default IV given explicitly silences the warning", () => {
    expect(checkedAesWrap("aesWrapUnwrap -m 1 -f k -w 6").outFile).toBe("wrapped_key");
    expect(checkedAesWrap("aesWrapUnwrap -m 0 -f k -w 6").outFile).toBe("unwrapped_key");
    expect(checkedAesWrap("aesWrapUnwrap -m 1 -f k -w 6 -i 0xA6A6A6A6A6A6A6A6").ivMissing).toBe(false);
    expect(checkedAesWrap("aesWrapUnwrap -m 1 -f k -w 6 -i a6a6a6a6a6a6a6a6").ivMissing).toBe(false);
  });

  test("refusals before any call: mode, IV, handle, missing flags", () => {
    expect(refused("aesWrapUnwrap -m 2 -f k -w 6")).toBe('aesWrapUnwrap: -m must be 1 (wrap) or 0 (unwrap), got "2"');
    expect(refused("aesWrapUnwrap -m 1 -f k -w 6 -i 0x0102030405060708")).toContain("only the default IV 0xA6A6A6A6A6A6A6A6");
    expect(refused("aesWrapUnwrap -m 1 -f k -w six")).toContain("-w must be a decimal number");
    expect(refused("aesWrapUnwrap -m 1 -f k")).toBe("aesWrapUnwrap: -w is required");
    expect(MAX_AES_WRAP_FILE_BYTES).toBe(4095);
  });
});

describe("aesWrapUnwrap output", () => {
  test("the documented wrap example, byte for byte after the command line", () => {
    const doc = `
        Warning: IV (-i) is missing.
                 0xA6A6A6A6A6A6A6A6 is considered as default IV
result data:
49 49 E2 D0 11 C1 97 22
17 43 BD E3 4E F4 12 75
8D C1 34 CF 26 10 3A 8D
6D 0A 7B D5 D3 E8 4D C2
79 09 08 61 94 68 51 B7

result written to file 3DES.key.wrapped

        Cfm3WrapHostKey returned: 0x00 : HSM Return: SUCCESS
`;
    const bytes = Buffer.from("4949E2D011C19722" + "1743BDE34EF41275" + "8DC134CF26103A8D" + "6D0A7BD5D3E84DC2" + "79090861946851B7", "hex");
    expect(formatAesWrapUnwrap({ mode: "wrap", ivMissing: true, shown: bytes, resultLength: bytes.length, outFile: "3DES.key.wrapped" })).toBe(doc);
  });

  test("an unwrap does not print the plaintext, only its length; with -i there is no warning", () => {
    const text = formatAesWrapUnwrap({ mode: "unwrap", ivMissing: false, shown: undefined, resultLength: 24, outFile: "3DES.key.unwrapped" });
    expect(text).toBe(
      ["", "result data:", "(24 bytes of plaintext, not shown: see the output file)", "", "result written to file 3DES.key.unwrapped", "", "        Cfm3UnWrapHostKey returned: 0x00 : HSM Return: SUCCESS", ""].join("\n"),
    );
  });

  test("hex rows: 8 bytes a line, the last one short", () => {
    expect(hexRows(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 0xab]))).toEqual(["00 01 02 03 04 05 06 07", "08 AB"]);
    expect(hexRows(Buffer.alloc(0))).toEqual([]);
  });
});

test("listAttributes: the documented list, in its order and layout (key_mgmt_util-listAttributes.md)", () => {
  const doc = `
Following are the possible attribute values for getAttributes:

      OBJ_ATTR_CLASS                  = 0
      OBJ_ATTR_TOKEN                  = 1
      OBJ_ATTR_PRIVATE                = 2
      OBJ_ATTR_LABEL                  = 3
      OBJ_ATTR_KEY_TYPE               = 256
      OBJ_ATTR_ENCRYPT                = 260
      OBJ_ATTR_DECRYPT                = 261
      OBJ_ATTR_WRAP                   = 262
      OBJ_ATTR_UNWRAP                 = 263
      OBJ_ATTR_SIGN                   = 264
      OBJ_ATTR_VERIFY                 = 266
      OBJ_ATTR_LOCAL                  = 355
      OBJ_ATTR_MODULUS                = 288
      OBJ_ATTR_MODULUS_BITS           = 289
      OBJ_ATTR_PUBLIC_EXPONENT        = 290
      OBJ_ATTR_VALUE_LEN              = 353
      OBJ_ATTR_EXTRACTABLE            = 354
      OBJ_ATTR_KCV                    = 371
`;
  expect(formatListAttributes()).toBe(doc);
  // It needs no login and takes no flags.
  expect(prepare(["listAttributes"])).toMatchObject({ kind: "run", command: { needsLogin: false } });
  expect(refused("listAttributes -a 3")).toBe("listAttributes: unknown flag -a");
});

describe("getHSMInfo, getPartitionInfo, loginStatus (our layout: KMU does not document them)", () => {
  test("field lines: the name padded to 21, then ':' and the value, as CMU's getHSMInfo prints them", () => {
    expect(fieldLine("Label", "local-cloudhsm")).toBe("        Label                :local-cloudhsm");
  });

  test("getHSMInfo: a count line, a block per node, the status line", () => {
    const node = (nodeId: number, available: boolean) => ({
      nodeId,
      model: "NITROX-III CNN35XX-NFBE",
      serialNumber: `LCH-00000${nodeId + 1}`,
      firmwareVersion: "2.6.0",
      available,
      fipsMode: true,
      keysHeld: 4,
    });
    const text = formatHsmInfo([node(0, true), node(1, false)]);
    expect(text.split("\n")).toEqual([
      "",
      "        Getting HSM Info on 2 nodes",
      "",
      "        *** Node 0 HSM Info ***",
      "        Label                :local-cloudhsm",
      "        Model                :NITROX-III CNN35XX-NFBE",
      "        Serial Number        :LCH-000001",
      "        FIPS state           :2 [FIPS mode with single factor authentication]",
      "        Firmware Version     :2.6.0",
      "        Node State           :available",
      "        Keys Held            :4",
      "",
      "        *** Node 1 HSM Info ***",
      "        Label                :local-cloudhsm",
      "        Model                :NITROX-III CNN35XX-NFBE",
      "        Serial Number        :LCH-000002",
      "        FIPS state           :2 [FIPS mode with single factor authentication]",
      "        Firmware Version     :2.6.0",
      "        Node State           :unavailable",
      "        Keys Held            :4",
      "",
      "        Cfm3GetHSMInfo returned: 0x00 : HSM Return: SUCCESS",
      "",
    ]);
  });

  test("getPartitionInfo: max keys 0 reads 'no limit'", () => {
    const p = { name: "local-cloudhsm-partition", maxKeys: 16666, tokenKeys: 3, sessionKeys: 1, users: 4, sessions: 2 };
    expect(formatPartitionInfo(p)).toContain("        Max Keys             :16666\n");
    expect(formatPartitionInfo({ ...p, maxKeys: 0 })).toContain("        Max Keys             :no limit\n");
    expect(formatPartitionInfo(p)).toMatch(/Open Sessions {8}:2\n\n {8}Cfm3GetPartitionInfo returned: 0x00 : HSM Return: SUCCESS\n$/);
  });

  test("loginStatus: CMU's 'Logged in as' wording, or one line when nobody is logged in", () => {
    const text = formatLoginStatus({ userId: 3, username: "alice", userType: "CU", nodeId: 1, expiresAt: "2026-01-01T00:10:00.000Z" });
    expect(text).toContain("        Login State          :Logged in as 'alice(CU)'\n");
    expect(text).toContain("        Session Expires      :2026-01-01T00:10:00.000Z\n");
    expect(formatLoginStatus(undefined)).toBe("\n        No user is logged in. Use loginHSM.\n");
  });
});
