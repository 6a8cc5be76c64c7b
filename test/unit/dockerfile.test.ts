// The Dockerfile read as data, for machines without a Docker engine (CI builds the image only where one answers):
// multi-stage, a non-root runtime user, /data as volume and data dir, and commands that name files the package
// ships. Its settings are parsed by the daemon's own parser, so the container's configuration is one it accepts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/server/config";

const ROOT = join(__dirname, "..", "..");

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The instructions, with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const logical = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return logical
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

const all = instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const lastFrom = all.map((i) => i.keyword).lastIndexOf("FROM");
const runtime = all.slice(lastFrom);
const argsOf = (keyword: string): string[] => runtime.filter((i) => i.keyword === keyword).map((i) => i.args);

/** The runtime stage's ENV values (KEY=value pairs, as the Dockerfile writes them). */
function runtimeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of argsOf("ENV")) for (const pair of args.split(/\s+/)) env[pair.slice(0, pair.indexOf("="))] = pair.slice(pair.indexOf("=") + 1);
  return env;
}

/** The exec-form (JSON array) command of an instruction, after any --options. */
function execForm(args: string): string[] {
  return JSON.parse(args.slice(args.indexOf("["))) as string[];
}

/** A path inside the installed package (/app/node_modules/local-cloudhsm/...) as the repository file it is built from. */
function sourceOf(installedPath: string): string {
  const prefix = "/app/node_modules/local-cloudhsm/dist/";
  expect(installedPath.startsWith(prefix)).toBe(true);
  return join(ROOT, installedPath.slice(prefix.length).replace(/\.js$/, ".ts"));
}

test("two stages: the runtime stage copies the build stage's install and runs as the image's non-root user", () => {
  expect(all.filter((i) => i.keyword === "FROM")).toHaveLength(2);
  expect(argsOf("COPY")).toEqual([expect.stringMatching(/^--from=build /)]);
  const users = argsOf("USER");
  expect(users).toHaveLength(1);
  expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
});

test("the data directory is the /data volume and the daemon listens on all interfaces, settings the daemon accepts", () => {
  expect(argsOf("VOLUME").join(" ")).toContain('"/data"');
  const env = runtimeEnv();
  // The compose example gives the admin secret; the rest comes from the image.
  const { config } = parseConfig([], { ...env, LOCALCLOUDHSM_ADMIN_SECRET: "an-admin-secret-of-some-length" }, () => "");
  expect(config.dataDir).toBe("/data");
  expect(config.listen.host).toBe("0.0.0.0");
  expect(argsOf("EXPOSE")).toEqual([String(config.listen.port)]);
});

test("HEALTHCHECK runs the package's gRPC health probe and ENTRYPOINT the daemon, both files the build compiles", () => {
  const [health] = argsOf("HEALTHCHECK");
  const probe = execForm(health!.slice(health!.indexOf("CMD")));
  expect(probe[0]).toBe("node");
  expect(existsSync(sourceOf(probe[1]!))).toBe(true);
  expect(probe[1]).toMatch(/healthProbe\.js$/);

  const [entry] = argsOf("ENTRYPOINT");
  const daemon = execForm(entry!);
  expect(daemon[0]).toBe("node");
  expect(sourceOf(daemon[1]!)).toBe(join(ROOT, "src", "server", "main.ts"));
});
