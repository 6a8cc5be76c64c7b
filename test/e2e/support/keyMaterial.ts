// Independent oracles for end-to-end checks: the KCVs (from test/support/kcv.ts) and a byte scan of the data dir.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

// The KCV oracles are the ones the integration tests use.
export { aesKcv, des3Kcv } from "../../support/kcv";

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...filesUnder(path));
    else if (st.isFile()) out.push(path);
  }
  return out;
}

export interface MaterialHit {
  readonly file: string;
  readonly key: number;
  readonly form: string;
}

/** The encodings a plaintext key could leak in: raw bytes, hex (both cases) and base64. */
function forms(material: Buffer): [string, Buffer][] {
  const hex = material.toString("hex");
  return [
    ["raw", material],
    ["hex", Buffer.from(hex, "latin1")],
    ["HEX", Buffer.from(hex.toUpperCase(), "latin1")],
    ["base64", Buffer.from(material.toString("base64"), "latin1")],
  ];
}

/** Searches `files` for any of `materials` in any form; returns each hit (empty means nothing leaked). */
export function findMaterial(files: readonly string[], materials: readonly Buffer[], root: string): MaterialHit[] {
  const hits: MaterialHit[] = [];
  const needles = materials.map((m) => forms(m));
  for (const file of files) {
    const bytes = readFileSync(file);
    needles.forEach((keyForms, key) => {
      for (const [form, needle] of keyForms) if (bytes.includes(needle)) hits.push({ file: relative(root, file), key, form });
    });
  }
  return hits;
}

/** Searches text (e.g. the daemon's stdout) for any of `materials` in hex or base64. */
export function findMaterialInText(text: string, materials: readonly Buffer[]): number[] {
  const lower = text.toLowerCase();
  const hits: number[] = [];
  materials.forEach((m, i) => {
    if (lower.includes(m.toString("hex")) || text.includes(m.toString("base64"))) hits.push(i);
  });
  return hits;
}
