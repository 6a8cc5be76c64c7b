// The single-dash flag parser: values after flags, switches, -h anywhere, and every kind of usage mistake.
import { FlagTable, parseFlags, UsageError } from "../../../src/cli/flagParser";

const TABLE: FlagTable = {
  "-f": { kind: "value", required: true },
  "-l": { kind: "value" },
  "-min_srv": { kind: "value" },
  "-sess": { kind: "switch" },
};

function flagsOf(words: string[]) {
  const parsed = parseFlags(words, TABLE);
  if (parsed.help) throw new Error("unexpected help");
  return parsed.flags;
}

function mistake(words: string[]): string {
  try {
    parseFlags(words, TABLE);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("no usage error");
}

test("values follow their flag; switches stand alone; order does not matter", () => {
  const flags = flagsOf(["-sess", "-min_srv", "2", "-f", "k.bin", "-l", "my label"]);
  expect(flags.value("-f")).toBe("k.bin");
  expect(flags.value("-min_srv")).toBe("2");
  expect(flags.value("-l")).toBe("my label");
  expect(flags.has("-sess")).toBe(true);
  expect(flags.value("-id")).toBeUndefined();
});

test("a value may start with a dash if it is not one of the command's flags", () => {
  expect(flagsOf(["-f", "k", "-l", "-weird-label"]).value("-l")).toBe("-weird-label");
});

test("-h anywhere asks for help, even on an otherwise wrong line", () => {
  expect(parseFlags(["-h"], TABLE)).toEqual({ help: true });
  expect(parseFlags(["-bogus", "-h"], TABLE)).toEqual({ help: true });
});

test("usage mistakes", () => {
  expect(mistake(["-f", "k", "-x"])).toBe("unknown flag -x");
  expect(mistake(["-f", "k", "--json"])).toContain("go before the command");
  expect(mistake(["-f", "k", "stray"])).toBe('unexpected argument "stray"');
  expect(mistake(["-f"])).toBe("-f needs a value");
  expect(mistake(["-f", "-sess"])).toBe("-f needs a value");
  expect(mistake(["-f", "a", "-f", "b"])).toBe("-f is given twice");
  expect(mistake(["-sess", "-sess", "-f", "a"])).toBe("-sess is given twice");
  expect(mistake(["-l", "x"])).toBe("-f is required");
  // Flags are case-sensitive, as in key_mgmt_util.
  expect(mistake(["-F", "k"])).toBe("unknown flag -F");
});
