// kmu's own --options: address from flag or environment, --json, one-shot credentials, and where the command starts.
import { UsageError } from "../../../src/cli/flagParser";
import { parseGlobalOptions } from "../../../src/cli/globalOptions";

test("defaults: the documented address, text output, the shell", () => {
  expect(parseGlobalOptions([], {})).toEqual({ server: "127.0.0.1:2225", json: false, help: false, command: [] });
});

test("environment, then flags (the flag wins)", () => {
  const env = { LOCALCLOUDHSM_ADDRESS: "127.0.0.1:4000", KMU_USER: "alice", KMU_PASSWORD: "pw" };
  expect(parseGlobalOptions(["findKey", "-l", "x"], env)).toEqual({
    server: "127.0.0.1:4000",
    json: false,
    user: "alice",
    password: "pw",
    help: false,
    command: ["findKey", "-l", "x"],
  });
  expect(
    parseGlobalOptions(["--server", "localhost:5000", "--json", "--user=bob", "--password", "s3", "--attestation-keys", "k.json", "listUsers"], env),
  ).toEqual({ server: "localhost:5000", json: true, user: "bob", password: "s3", attestationKeysFile: "k.json", help: false, command: ["listUsers"] });
});

test("help and mistakes", () => {
  expect(parseGlobalOptions(["--help"], {}).help).toBe(true);
  expect(parseGlobalOptions(["-h"], {}).help).toBe(true);
  // -h after a command is that command's help, not kmu's.
  expect(parseGlobalOptions(["imSymKey", "-h"], {})).toMatchObject({ help: false, command: ["imSymKey", "-h"] });
  expect(() => parseGlobalOptions(["--server", "nohost"], {})).toThrow(UsageError);
  expect(() => parseGlobalOptions(["--server", "h:99999"], {})).toThrow(UsageError);
  expect(() => parseGlobalOptions(["--verbose"], {})).toThrow("unknown option --verbose");
  expect(() => parseGlobalOptions(["--server"], {})).toThrow("--server needs a value");
  expect(parseGlobalOptions(["--server", "[::1]:2225"], {}).server).toBe("[::1]:2225");
});
