// The one return-code table (common/, used by the daemon, the clients and kmu) and the reason -> code mapping (DESIGN.md semantics 10).
import { HsmError, isHsmError, REASON_RETURN_CODES, Reason } from "../../src/hsm/errors";
import { lookupReturnCode, RETURN_CODES, returnCodeMetadata, returnCodeText } from "../../common/returnCodes";

describe("return codes", () => {
  const entries = Object.entries(RETURN_CODES);

  test("every code value appears once", () => {
    const codes = entries.map(([, rc]) => rc.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  test("the documented KMU codes keep their documented values", () => {
    expect(RETURN_CODES.SUCCESS.code).toBe(0x00);
    expect(RETURN_CODES.INVALID_OBJECT_HANDLE.code).toBe(0xa8);
    expect(RETURN_CODES.KEY_ACCESS_DENIED.code).toBe(0xc6);
    expect(RETURN_CODES.FIPS_POLICY.code).toBe(0xb3);
    expect(RETURN_CODES.INVALID_USER_TYPE.code).toBe(0xdb);
    expect(RETURN_CODES.SERVER_UNAVAILABLE.code).toBe(0x30000085);
    expect(RETURN_CODES.SUCCESS.text).toBe("HSM Return: SUCCESS");
  });

  test("project codes never reuse a value AWS documents", () => {
    const documented = new Set(entries.filter(([, rc]) => rc.source === "aws").map(([, rc]) => rc.code));
    for (const [, rc] of entries.filter(([, r]) => r.source !== "aws")) expect(documented.has(rc.code)).toBe(false);
  });

  test("returnCodeText and lookupReturnCode know every code; other codes get the generic text and no entry", () => {
    for (const [, rc] of entries) {
      expect(returnCodeText(rc.code)).toBe(rc.text);
      expect(lookupReturnCode(rc.code)).toBe(rc);
    }
    expect(returnCodeText(0x7fffffff)).toBe("HSM Error: Unknown error");
    expect(lookupReturnCode(0x7fffffff)).toBeUndefined();
  });

  test("the ErrorInfo metadata of a code: its hex form as KMU prints it, and its text", () => {
    expect(returnCodeMetadata(RETURN_CODES.WRAPPED_KEY_INVALID)).toEqual({ kmu_return_code: "0x110", kmu_return_text: "HSM Error: Unwrap integrity check failed" });
  });
});

describe("reasons", () => {
  test("every reason is UPPER_SNAKE and maps to a code in the table", () => {
    const table = new Set(Object.values(RETURN_CODES));
    for (const [reason, rc] of Object.entries(REASON_RETURN_CODES)) {
      expect(reason).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(table.has(rc)).toBe(true);
    }
  });

  test.each([
    ["KEY_NOT_FOUND", 0xa8],
    ["INTERNAL_KEY_UNSUPPORTED", 0xc6],
    ["KEY_TYPE_FIPS_DISALLOWED", 0xb3],
    ["INVALID_USER_TYPE", 0xdb],
  ] as const)("%s carries the documented code 0x%s", (reason, code) => {
    expect(REASON_RETURN_CODES[reason as Reason].code).toBe(code);
  });

  test("HsmError carries its reason, code and details", () => {
    const err = new HsmError("KEY_NOT_FOUND", "invalid object handle", { key_handle: 9 });
    expect(err).toBeInstanceOf(Error);
    expect(isHsmError(err)).toBe(true);
    expect(isHsmError(new Error("x"))).toBe(false);
    expect(err.reason).toBe("KEY_NOT_FOUND");
    expect(err.returnCode).toBe(RETURN_CODES.INVALID_OBJECT_HANDLE);
    expect(err.details).toEqual({ key_handle: 9 });
    expect(new HsmError("INTERNAL", "x").details).toEqual({});
  });
});
