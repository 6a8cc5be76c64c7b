// Locates the proto/ folder at run time, from src/ under ts-jest or tsx and from dist/src/ when compiled.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

/** The project's proto/ directory, found by walking up from this file. */
export function protoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "proto", "localcloudhsm"))) return join(dir, "proto");
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the proto/ folder above ${__dirname}`);
    dir = parent;
  }
}

/** The service .proto files, relative to protoRoot(). */
export function serviceProtoFiles(root: string = protoRoot()): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".proto")) out.push(relative(root, path));
    }
  };
  walk(join(root, "localcloudhsm"));
  return out;
}
