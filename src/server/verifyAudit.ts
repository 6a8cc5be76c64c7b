// `npm run audit:verify -- <audit.jsonl>`: checks the audit log's hash chain and names the first broken record.
import { readFileSync } from "node:fs";
import { verifyAuditChain } from "../hsm/auditLog";

function main(argv: readonly string[]): number {
  const path = argv[0];
  if (!path || argv.length !== 1) {
    process.stderr.write("usage: verify-audit <path to audit.jsonl>\n");
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    process.stderr.write(`verify-audit: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}\n`);
    return 2;
  }
  const check = verifyAuditChain(text);
  if (check.ok) {
    process.stdout.write(`audit chain OK: ${check.records} records\n`);
    return 0;
  }
  process.stdout.write(`audit chain BROKEN at line ${check.brokenLine}: ${check.problem} (${check.records} records verify before it)\n`);
  return 1;
}

process.exitCode = main(process.argv.slice(2));
