// clients/returnCodes.ts (kmu's Error2String table) must say exactly what the daemon's table says.
import { KMU_RETURN_CODES, kmuReturnText, lookupReturnCode } from "../../../clients/returnCodes";
import { RETURN_CODES, returnCodeText } from "../../../src/hsm/returnCodes";

test("the client table and the daemon's table hold the same codes, texts and sources", () => {
  const daemon = Object.values(RETURN_CODES)
    .map((r) => ({ code: r.code, text: r.text, source: r.source }))
    .sort((a, b) => a.code - b.code);
  const client = [...KMU_RETURN_CODES].map((r) => ({ ...r })).sort((a, b) => a.code - b.code);
  expect(client).toEqual(daemon);
});

test("lookups, and the generic text for unknown codes", () => {
  expect(kmuReturnText(0xdb)).toBe("HSM Error: Invalid User Type.");
  expect(lookupReturnCode(0x12345)).toBeUndefined();
  expect(kmuReturnText(0x12345)).toBe(returnCodeText(0x12345));
});
