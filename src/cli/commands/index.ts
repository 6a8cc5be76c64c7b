// The table of kmu commands, in the order the command list shows them.
import { Command } from "../command";
import { aesWrapUnwrap } from "./aesWrapUnwrap";
import { deleteKey } from "./deleteKey";
import { error2String } from "./error2String";
import { exSymKey } from "./exSymKey";
import { findKey } from "./findKey";
import { exportPrivateKey } from "./exportPrivateKey";
import { exportPubKey } from "./exportPubKey";
import { genECCKeyPair } from "./genECCKeyPair";
import { genRSAKeyPair } from "./genRSAKeyPair";
import { importPrivateKey } from "./importPrivateKey";
import { importPubKey } from "./importPubKey";
import { sign } from "./sign";
import { verify } from "./verify";
import { findSingleKey } from "./findSingleKey";
import { genSymKey } from "./genSymKey";
import { getAttribute } from "./getAttribute";
import { getHSMInfo } from "./getHSMInfo";
import { getKeyInfo } from "./getKeyInfo";
import { imSymKey } from "./imSymKey";
import { listAttributes } from "./listAttributes";
import { listUsers } from "./listUsers";
import { getPartitionInfo } from "./getPartitionInfo";
import { loginHSM, logoutHSM } from "./loginHSM";
import { loginStatus } from "./loginStatus";
import { pinAttestationKeys } from "./pinAttestationKeys";
import { setAttribute } from "./setAttribute";
import { unWrapKey } from "./unWrapKey";
import { wrapKey } from "./wrapKey";

export const COMMANDS: readonly Command[] = [
  loginHSM,
  logoutHSM,
  loginStatus,
  genSymKey,
  imSymKey,
  exSymKey,
  genRSAKeyPair,
  genECCKeyPair,
  importPubKey,
  exportPubKey,
  importPrivateKey,
  exportPrivateKey,
  wrapKey,
  unWrapKey,
  aesWrapUnwrap,
  sign,
  verify,
  getAttribute,
  listAttributes,
  setAttribute,
  findKey,
  findSingleKey,
  getKeyInfo,
  deleteKey,
  listUsers,
  getHSMInfo,
  getPartitionInfo,
  error2String,
  pinAttestationKeys,
];

/** Words that end the shell (and do nothing in one-shot mode). */
export const EXIT_WORDS: readonly string[] = ["exit", "quit"];

/** The command named `name`: exact spelling first, then ignoring case (imsymkey works too). */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name) ?? COMMANDS.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

/** What `help` (and an unknown command) prints: every command with one line each. */
export function commandList(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    "",
    "Help Commands Available:",
    "",
    "Syntax: <command> -h",
    "",
    "   Command               Description",
    "   =======               ===========",
    "",
    ...[...COMMANDS.map((c) => [c.name, c.summary] as const), ["help", "Lists the commands"] as const, ["exit", "Exits this application (also: quit)"] as const].map(
      ([name, summary]) => `   ${name.padEnd(Math.max(width, 22))}${summary}`,
    ),
    "",
  ].join("\n") + "\n";
}
