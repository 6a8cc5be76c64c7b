// Splitting shell lines: whitespace, quotes for labels with spaces, backslash escapes.
import { UsageError } from "../../../src/cli/flagParser";
import { tokenize } from "../../../src/cli/tokenize";

test("words, quotes and escapes", () => {
  expect(tokenize("  imSymKey -f k.bin   -w 20\t-t 31 ")).toEqual(["imSymKey", "-f", "k.bin", "-w", "20", "-t", "31"]);
  expect(tokenize(`findKey -l "my key" -id 'it''s'`)).toEqual(["findKey", "-l", "my key", "-id", "its"]);
  expect(tokenize(`findKey -l a\\ b -id "q\\"x"`)).toEqual(["findKey", "-l", "a b", "-id", 'q"x']);
  expect(tokenize(`findKey -l ""`)).toEqual(["findKey", "-l", ""]);
  expect(tokenize("")).toEqual([]);
});

test("an unterminated quote is a usage mistake", () => {
  expect(() => tokenize('findKey -l "open')).toThrow(UsageError);
});
