// `npm run audit:verify -- [--data-dir DIR] [--master-key-file FILE] [audit.jsonl]`: checks the keyed chain against the store's head.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { AuditChain } from "../hsm/auditChain";
import { reconcile } from "../hsm/auditLog";
import { parseMasterKey } from "../hsm/store/masterKey";
import { SqliteStore } from "../hsm/store/sqliteStore";

const USAGE =
  "usage: verify-audit [--data-dir DIR] [--master-key-file FILE] [path to audit.jsonl]\n" +
  "  the log defaults to DIR/audit.jsonl, DIR to the log's directory; the master key comes from --master-key-file,\n" +
  "  else LOCALCLOUDHSM_MASTER_KEY, else DIR/master.key (as the daemon takes it); the store is DIR/store.sqlite\n";

function main(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  let values: { "data-dir"?: string; "master-key-file"?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { "data-dir": { type: "string" }, "master-key-file": { type: "string" } },
      allowPositionals: true,
    }));
  } catch {
    process.stderr.write(USAGE);
    return 2;
  }
  const given = positionals[0];
  if (positionals.length > 1 || (given === undefined && values["data-dir"] === undefined)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const dataDir = values["data-dir"] ?? dirname(given!);
  const path = given ?? join(dataDir, "audit.jsonl");
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      process.stderr.write(`verify-audit: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}\n`);
      return undefined;
    }
  };
  const keyFile = values["master-key-file"];
  const keyText = keyFile !== undefined ? read(keyFile) : (env.LOCALCLOUDHSM_MASTER_KEY ?? read(join(dataDir, "master.key")));
  if (keyText === undefined) return 2;

  let chain: AuditChain;
  let store: SqliteStore;
  try {
    const masterKey = parseMasterKey(keyText);
    chain = new AuditChain(masterKey);
    store = SqliteStore.openReadOnly(join(dataDir, "store.sqlite"), masterKey);
  } catch (err) {
    process.stderr.write(`verify-audit: ${(err as Error).message}\n`);
    return 2;
  }
  let found;
  try {
    // A running daemon commits to the store, then appends to the log: the head read before and after
    // reading the log must be the same, or the log was read in the middle of several commits.
    for (let attempt = 0; ; attempt++) {
      const before = store.auditState();
      const text = read(path);
      if (text === undefined) return 2;
      const after = store.auditState();
      if (attempt < 10 && JSON.stringify(before.head) !== JSON.stringify(after.head)) continue;
      found = reconcile(chain, text, before);
      break;
    }
  } catch (err) {
    // The head itself fails its MAC: the store was edited.
    process.stdout.write(`audit chain BROKEN: ${(err as Error).message}\n`);
    return 1;
  } finally {
    store.close();
  }
  const { check } = found;
  if (!check.ok) {
    process.stdout.write(`audit chain BROKEN at line ${check.brokenLine}: ${check.problem} (${check.records} records verify before it)\n`);
    return 1;
  }
  if (!found.ok) {
    process.stdout.write(`audit chain BROKEN: the log ${found.problem}\n`);
    return 1;
  }
  const restored = found.missing.length > 0 ? `, and ${found.missing.length} more in the store that the daemon appends at its next start (a crash came before the log write)` : "";
  process.stdout.write(`audit chain OK: ${check.records} records${restored}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2), process.env);
