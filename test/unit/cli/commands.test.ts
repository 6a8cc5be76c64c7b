// Every command's flags, defaults and validation, checked without a daemon: a mistake must never produce an action.
import { prepare, Prepared } from "../../../src/cli/dispatch";
import { COMMANDS, commandList } from "../../../src/cli/commands";
import { imSymKey } from "../../../src/cli/commands/imSymKey";
import { genSymKey } from "../../../src/cli/commands/genSymKey";
import { findKey } from "../../../src/cli/commands/findKey";
import { exSymKey } from "../../../src/cli/commands/exSymKey";
import { setAttribute } from "../../../src/cli/commands/setAttribute";
import { loginHSM } from "../../../src/cli/commands/loginHSM";
import { parseFlags } from "../../../src/cli/flagParser";

/** The usage message of a line that must be refused. */
function refused(line: string): string {
  const prepared: Prepared = prepare(line.split(" "));
  if (prepared.kind !== "done" || prepared.outcome.kind !== "usage") throw new Error(`"${line}" was not refused: ${JSON.stringify(prepared)}`);
  return prepared.outcome.message;
}

function accepted(line: string): void {
  const prepared = prepare(line.split(" "));
  if (prepared.kind !== "run") throw new Error(`"${line}" was refused: ${JSON.stringify(prepared)}`);
}

/** The typed parameters a command's check produces for a line. */
function checked<P>(command: { name: string; flags: Parameters<typeof parseFlags>[1]; check: (f: never) => P }, line: string): P {
  const parsed = parseFlags(line.split(" ").slice(1), command.flags);
  if (parsed.help) throw new Error("help");
  return command.check(parsed.flags as never);
}

test("every command has a help text with its documented syntax", () => {
  for (const command of COMMANDS) {
    expect(command.help).toContain(`Syntax: ${command.name} -h`);
    const prepared = prepare([command.name, "-h"]);
    expect(prepared).toEqual({ kind: "done", outcome: { kind: "help", text: command.help } });
  }
  expect(commandList()).toContain("imSymKey");
});

test("unknown commands, exit and help", () => {
  expect(refused("imSymkeyy -f x")).toBe('unknown command "imSymkeyy"');
  expect(prepare(["exit"])).toEqual({ kind: "exit" });
  expect(prepare(["quit"])).toEqual({ kind: "exit" });
  expect(prepare(["help"])).toMatchObject({ kind: "done", outcome: { kind: "help" } });
  // Command names also match ignoring case.
  accepted("imsymkey -f k -w 6 -t 31 -l x");
});

describe("imSymKey", () => {
  test("the documented flags and their defaults", () => {
    expect(checked(imSymKey, "imSymKey -f aes256.key -w 20 -t 31 -l imported")).toEqual({
      file: "aes256.key",
      wrappingKey: 20,
      keyType: 31,
      wrappingKeyFile: undefined,
      label: "imported",
      session: false,
      attest: false,
    });
    expect(checked(imSymKey, "imSymKey -f k -w 6 -t 21 -l temp -id test01 -sess -attest -wk w.key -min_srv 2 -timeout 5 -u 5,6")).toEqual({
      file: "k",
      wrappingKey: 6,
      keyType: 21,
      wrappingKeyFile: "w.key",
      label: "temp",
      id: "test01",
      session: true,
      attest: true,
      minSrv: 2,
      timeoutSeconds: 5,
      shareWith: [5, 6],
    });
  });

  test("usage mistakes", () => {
    expect(refused("imSymKey -w 6 -t 31 -l x")).toBe("imSymKey: -f is required");
    expect(refused("imSymKey -f k -t 31 -l x")).toBe("imSymKey: -w is required");
    expect(refused("imSymKey -f k -w 6 -l x")).toBe("imSymKey: -t is required");
    expect(refused("imSymKey -f k -w 6 -t 31")).toBe("imSymKey: -l is required");
    expect(refused("imSymKey -f k -w six -t 31 -l x")).toContain("-w must be a decimal number");
    expect(refused("imSymKey -f k -w 6 -t 30 -l x")).toContain("-t must be one of");
    expect(refused("imSymKey -f k -w 6 -t 31 -l x -timeout 3")).toBe("imSymKey: -timeout is valid only together with -min_srv");
    expect(refused("imSymKey -f k -w 6 -t 31 -l x -min_srv 0")).toContain("-min_srv must be between 1 and 28");
    expect(refused("imSymKey -f k -w 6 -t 31 -l x -u me")).toContain("-u must be user ids");
    expect(refused("imSymKey -f k -w 6 -t 31 -l x -nex")).toBe("imSymKey: unknown flag -nex");
    // The help comes with the message.
    const prepared = prepare("imSymKey -f k".split(" "));
    expect(prepared).toMatchObject({ kind: "done", outcome: { kind: "usage", help: imSymKey.help } });
  });

  test("documented key types the HSM refuses itself (16, 18) are sent, so its code is what the user sees", () => {
    accepted("imSymKey -f k -w 6 -t 18 -l x");
    accepted("imSymKey -f k -w 6 -t 16 -l x");
  });
});

describe("genSymKey", () => {
  test("flags, -nex, and -m_value accepted in 0..8 and ignored", () => {
    expect(checked(genSymKey, "genSymKey -t 31 -s 32 -l aes256 -nex -m_value 8 -sess")).toEqual({
      keyType: 31,
      keySize: 32,
      nonExtractable: true,
      label: "aes256",
      session: true,
      attest: false,
    });
    expect(refused("genSymKey -t 31 -s 32 -l x -m_value 9")).toContain("-m_value must be between 0 and 8");
    expect(refused("genSymKey -t 0 -s 32 -l x")).toContain("-t must be one of 16, 18, 21, 31");
    expect(refused("genSymKey -t 31 -l x")).toBe("genSymKey: -s is required");
  });
});

describe("exSymKey", () => {
  test("-m 4 only; -t accepted", () => {
    expect(checked(exSymKey, "exSymKey -k 14 -w 6 -out aes.key -m 4 -t 3")).toEqual({ keyHandle: 14, wrappingKey: 6, outFile: "aes.key", wrappingKeyFile: undefined });
    expect(refused("exSymKey -k 14 -w 6 -out aes.key -m 5")).toContain("-m must be 4");
    expect(refused("exSymKey -k 14 -w 6")).toBe("exSymKey: -out is required");
  });
});

describe("findKey", () => {
  test("every filter", () => {
    expect(checked(findKey, "findKey -c 4 -t 21 -l temp -id test01 -sess 1 -u 4,5 -kcv 0xc33cbd")).toEqual({
      keyClass: 4,
      keyType: 21,
      label: "temp",
      id: "test01",
      session: true,
      sharedWithUserIds: [4, 5],
      kcv: Buffer.from("c33cbd", "hex"),
    });
    expect(checked(findKey, "findKey")).toEqual({});
    expect(checked(findKey, "findKey -sess 0 -kcv C33CBD")).toEqual({ session: false, kcv: Buffer.from("c33cbd", "hex") });
  });

  test("-m names the modulus file (read when the command runs); bad filters are usage mistakes", () => {
    expect(checked(findKey, "findKey -c 3 -t 0 -m modulus.bin")).toEqual({ keyClass: 3, keyType: 0, modulusFile: "modulus.bin" });
    expect(refused("findKey -c 5")).toContain("-c must be one of 2, 3, 4");
    expect(refused("findKey -sess yes")).toContain("-sess must be 0");
    expect(refused("findKey -kcv 12")).toContain("-kcv must be 6 hex digits");
  });
});

describe("setAttribute", () => {
  test("-a 1 only; -v 0 or 1 for scripts", () => {
    expect(checked(setAttribute, "setAttribute -o 37 -a 1")).toEqual({ keyHandle: 37, value: undefined });
    expect(checked(setAttribute, "setAttribute -o 37 -a 1 -v 1")).toEqual({ keyHandle: 37, value: 1 });
    expect(refused("setAttribute -o 37 -a 3")).toContain("-a must be 1");
    expect(refused("setAttribute -o 37 -a 1 -v 2")).toContain("must be 0 or 1");
  });
});

describe("loginHSM", () => {
  test("-u CU -s <user> with -p or -hpswd, not both", () => {
    expect(checked(loginHSM, "loginHSM -u CU -s alice -p password1")).toEqual({ crypto: true, username: "alice", password: "password1" });
    expect(checked(loginHSM, "loginHSM -u CU -s alice -hpswd")).toEqual({ crypto: true, username: "alice", password: undefined });
    // Another documented user type parses; the command then answers 0xdb without sending anything.
    expect(checked(loginHSM, "loginHSM -u CO -s admin -p x")).toEqual({ crypto: false, username: "admin", password: "x" });
    expect(refused("loginHSM -u CU -s alice")).toContain("-p <password> or -hpswd is required");
    expect(refused("loginHSM -u CU -s alice -p x -hpswd")).toContain("not both");
    expect(refused("loginHSM -u XX -s alice -p x")).toContain("-u must be CU");
  });
});

test("simple commands", () => {
  accepted("deleteKey -k 6");
  accepted("getKeyInfo -k 6");
  accepted("findSingleKey -k 6");
  accepted("listUsers");
  accepted("logoutHSM");
  accepted("Error2String -r 0xdb");
  accepted("pinAttestationKeys -out keys.json");
  expect(refused("deleteKey")).toBe("deleteKey: -k is required");
  expect(refused("listUsers -k 6")).toBe("listUsers: unknown flag -k");
  expect(refused("Error2String -r db")).toContain("0x prefix");
});
