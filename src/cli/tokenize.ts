// Splits one shell line into words: whitespace separates, single or double quotes keep spaces in a label.

import { UsageError } from "./flagParser";

/** "imSymKey -l 'my key' -f k.bin" -> ["imSymKey", "-l", "my key", "-f", "k.bin"]. A backslash escapes the next character inside double quotes and outside quotes. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unterminated ${quote === '"' ? "double" : "single"} quote`, false);
  if (inWord) words.push(word);
  return words;
}
