// Typed flag values: handles, key types, user lists, KCVs, return codes and the -sess filter.
import { UsageError } from "../../../src/cli/flagParser";
import { parseHandle, parseInteger, parseKcv, parseKeyType, parseReturnCode, parseSessionFilter, parseUserIds } from "../../../src/cli/flagValues";

test("integers and handles are decimal and in range", () => {
  expect(parseHandle("-w", "262180")).toBe(262180);
  expect(() => parseHandle("-w", "0x14")).toThrow(UsageError);
  expect(() => parseHandle("-w", "-1")).toThrow(UsageError);
  expect(() => parseHandle("-w", "4294967296")).toThrow(UsageError);
  expect(() => parseInteger("-m_value", "9", 0, 8)).toThrow("-m_value must be between 0 and 8, got 9");
});

test("key types must be among the allowed constants", () => {
  expect(parseKeyType("-t", "31", [21, 31])).toBe(31);
  expect(() => parseKeyType("-t", "30", [21, 31])).toThrow("-t must be one of 21, 31, got 30");
});

test("user lists: comma-separated positive ids, no repeats", () => {
  expect(parseUserIds("-u", "5,6")).toEqual([5, 6]);
  expect(parseUserIds("-u", "5")).toEqual([5]);
  expect(() => parseUserIds("-u", "5,,6")).toThrow(UsageError);
  expect(() => parseUserIds("-u", "5,5")).toThrow(UsageError);
  expect(() => parseUserIds("-u", "alice")).toThrow(UsageError);
});

test("KCV: 6 hex digits with or without 0x", () => {
  expect(parseKcv("-kcv", "0xc33cbd")).toEqual(Buffer.from("c33cbd", "hex"));
  expect(parseKcv("-kcv", "C33CBD")).toEqual(Buffer.from("c33cbd", "hex"));
  expect(() => parseKcv("-kcv", "c33cb")).toThrow(UsageError);
  expect(() => parseKcv("-kcv", "0xc33cbdee")).toThrow(UsageError);
});

test("Error2String -r needs the 0x prefix", () => {
  expect(parseReturnCode("-r", "0xdb")).toBe(0xdb);
  expect(parseReturnCode("-r", "0x30000085")).toBe(0x30000085);
  expect(() => parseReturnCode("-r", "db")).toThrow(UsageError);
  expect(() => parseReturnCode("-r", "219")).toThrow(UsageError);
});

test("findKey -sess is 0 or 1", () => {
  expect(parseSessionFilter("-sess", "1")).toBe(true);
  expect(parseSessionFilter("-sess", "0")).toBe(false);
  expect(() => parseSessionFilter("-sess", "yes")).toThrow(UsageError);
});
