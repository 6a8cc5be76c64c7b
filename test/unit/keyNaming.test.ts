// Label and id rules: bounded UTF-8 text without control characters or decoder replacement characters.
import { checkKeyId, checkLabel, ID_MAX_BYTES, LABEL_MAX_CHARACTERS } from "../../src/hsm/keyNaming";
import { expectHsmErrorSync } from "./support/harness";

describe("checkLabel", () => {
  test.each([
    ["one character", "a"],
    ["127 characters", "a".repeat(127)],
    ["127 astral characters (254 UTF-16 units)", "\u{1F511}".repeat(127)],
    ["spaces and punctuation", "my key: v1 (prod)"],
    ["non-Latin text", "\u9375 \u043a\u043b\u044e\u0447"],
  ])("accepts %s", (_n, label) => {
    expect(() => checkLabel(label)).not.toThrow();
  });

  test.each([
    ["empty", ""],
    ["128 characters", "a".repeat(128)],
    ["128 astral characters", "\u{1F511}".repeat(128)],
    ["U+FFFD", "\uFFFD"],
    ["NUL", "a\u0000b"],
    ["a newline", "a\nb"],
    ["a carriage return", "a\rb"],
    ["ESC", "a\u001bb"],
    ["DEL", "a\u007fb"],
    ["a lone high surrogate", "a\uD83D"],
    ["a lone low surrogate", "\uDD11a"],
  ])("refuses %s with LABEL_INVALID", (_n, label) => {
    const err = expectHsmErrorSync(() => checkLabel(label), "LABEL_INVALID");
    expect(err.details.max_length).toBe(LABEL_MAX_CHARACTERS);
  });

  // C1 controls (U+0080..U+009F) too: U+0085 (NEXT LINE) is a line break to many readers of the
  // two-lines-per-attribute -out file.
  test.each([
    ["U+0085 NEXT LINE", "a\u0085b"],
    ["U+009B CSI", "a\u009bb"],
  ])("refuses the C1 control %s with LABEL_INVALID", (_n, label) => {
    expectHsmErrorSync(() => checkLabel(label), "LABEL_INVALID");
  });
});

describe("checkKeyId", () => {
  test.each([
    ["empty (the default)", ""],
    ["128 ASCII bytes", "i".repeat(128)],
    ["128 bytes of 2-byte characters", "\u00e9".repeat(64)],
    ["the documented example", "IT-02"],
  ])("accepts %s", (_n, id) => {
    expect(() => checkKeyId(id)).not.toThrow();
  });

  test.each([
    ["129 ASCII bytes", "i".repeat(129)],
    ["129 UTF-8 bytes in 43 characters", "\u20ac".repeat(43)],
    ["a control character", "id\u0001"],
    ["U+FFFD", "id\uFFFD"],
  ])("refuses %s with ID_INVALID", (_n, id) => {
    const err = expectHsmErrorSync(() => checkKeyId(id), "ID_INVALID");
    expect(err.details.max_length_bytes).toBe(ID_MAX_BYTES);
  });
});
