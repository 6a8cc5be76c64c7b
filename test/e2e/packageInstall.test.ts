// The package as another project gets it: `npm pack` the repository, install the tarball into a new project as a
// devDependency, then there: start the daemon with the installed `local-cloudhsm` command, run the README's client
// example (compiled by tsc against the installed types) and `kmu` against it, and run the README's jest example
// (startEmulator from local-cloudhsm/testing) with jest. The Dockerfile's HEALTHCHECK script, run from the install,
// answers for the daemon too.
//
// How the install stays fast: `npm pack --ignore-scripts` skips prepack's rebuild, because jest's globalSetup has
// just built dist/ with the same `npm run build` (and rebuilding here would rewrite dist/ under the other e2e files
// running at the same time). `npm install --ignore-scripts --prefer-offline` takes the dependencies from npm's
// cache (the registry only on a machine whose cache lacks them) and skips better-sqlite3's compile from source
// (about a minute on two cores); its native module is copied from this repository's node_modules instead: the
// same version (package.json pins it) built for the same node. Everything else runs as installed.
import { ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, REPO_ROOT, standardArgs } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { foundHandles, killAllKmu, runKmu } from "./support/kmuProcess";

/** How long one step (pack, install, tsc, jest) may run before it is killed and the test fails: a guard, never a sleep. */
const STEP_GUARD_MS = 150_000;

interface StepRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const liveSteps = new Set<ChildProcess>();

/**
 * The environment of npm and jest children: ours without npm's and jest's own variables, which `npm test` and jest
 * set for themselves (npm_config_local_prefix would point npm at this repository, JEST_WORKER_ID confuse jest).
 */
function stepEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^(npm_|JEST_)/i.test(name) && name !== "INIT_CWD") env[name] = value;
  return { ...env, ...extra };
}

/** Runs `command args` in `cwd` to completion; rejects with its output when it fails or outlasts the guard. */
function step(command: string, args: readonly string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<StepRun> {
  const child = spawn(command, args, { cwd, env: stepEnv(extraEnv), stdio: ["ignore", "pipe", "pipe"] });
  liveSteps.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const describe = (what: string): Error => new Error(`${command} ${args.join(" ")} ${what}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      reject(describe("did not finish"));
    }, STEP_GUARD_MS);
    guard.unref();
    child.once("error", (err) => {
      clearTimeout(guard);
      liveSteps.delete(child);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(guard);
      liveSteps.delete(child);
      if (code === 0) resolve({ code, stdout, stderr });
      else reject(describe(`exited with ${code}`));
    });
  });
}

/** The ```ts blocks of the README's "## Use it in tests" section. */
function readmeTsBlocks(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Use it in tests\n");
  if (start === -1) throw new Error("README.md has no ## Use it in tests section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** The one README block that `pick` selects. */
function readmeBlock(pick: (text: string) => boolean, what: string): string {
  const found = readmeTsBlocks().filter(pick);
  if (found.length !== 1) throw new Error(`README "Use it in tests" should have one ${what} block, has ${found.length}`);
  return found[0]!;
}

/** The script of the Dockerfile's HEALTHCHECK (exec form: node <script> ...), inside `installDir` instead of /app. */
function dockerHealthcheckScript(installDir: string): string {
  const line = /^HEALTHCHECK [^\n]*?CMD (\[.*\])$/m.exec(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8").replace(/\\\n\s*/g, ""));
  if (!line) throw new Error("the Dockerfile has no exec-form HEALTHCHECK");
  const [, script] = JSON.parse(line[1]!) as string[];
  if (!script?.startsWith("/app/")) throw new Error(`HEALTHCHECK script ${script} is not under /app`);
  return join(installDir, script.slice("/app/".length));
}

const closer = useDaemonCleanup("file");
/** The consumer project, with the tarball installed and the README's examples compiled into out/. */
let project: string;
let packedFiles: string[];

beforeAll(async () => {
  const root = makeTempDir("lch-pkg-");
  const pack = await step("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", root], REPO_ROOT);
  const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed!.files.map((f) => f.path);
  const tarball = join(root, packed!.filename);

  project = join(root, "consumer");
  mkdirSync(join(project, "src"), { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2));
  await step("npm", ["install", "--save-dev", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball], project);
  const nativeModule = join("build", "Release", "better_sqlite3.node");
  const installedSqlite = join(project, "node_modules", "better-sqlite3");
  mkdirSync(join(installedSqlite, dirname(nativeModule)), { recursive: true });
  copyFileSync(join(dirname(require.resolve("better-sqlite3/package.json")), nativeModule), join(installedSqlite, nativeModule));

  // The README's examples, as a TypeScript consumer compiles them: node16 resolution through the package's exports
  // map and its .d.ts files (skipLibCheck off, so a declaration that names a missing type fails here). Only the
  // ambient types of node and jest come from this repository.
  writeFileSync(join(project, "src", "makeKey.ts"), readmeBlock((t) => t.includes("local-cloudhsm/client") && !t.includes("startEmulator"), "client"));
  writeFileSync(join(project, "src", "emulator.test.ts"), readmeBlock((t) => t.includes("startEmulator"), "startEmulator"));
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "node16",
        moduleResolution: "node16",
        strict: true,
        skipLibCheck: false,
        outDir: "out",
        rootDir: "src",
        types: ["node", "jest"],
        typeRoots: [join(REPO_ROOT, "node_modules", "@types")],
      },
      include: ["src"],
    }),
  );
  await step(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], project);
}, 4 * STEP_GUARD_MS);

afterEach(() => {
  killAllKmu();
});

afterAll(() => {
  for (const child of liveSteps) child.kill("SIGKILL");
});

test("the tarball holds the compiled package, its types, the proto files and the commands, and no tests or sources", () => {
  expect(packedFiles).toEqual(
    expect.arrayContaining([
      "package.json",
      "README.md",
      "bin/local-cloudhsm.js",
      "bin/kmu.js",
      "dist/src/server/main.js",
      "dist/src/cli/main.js",
      "dist/clients/index.js",
      "dist/clients/index.d.ts",
      "dist/src/testing/index.js",
      "dist/src/testing/index.d.ts",
      "proto/localcloudhsm/v1/hsm_service.proto",
    ]),
  );
  expect(packedFiles.filter((f) => f.startsWith("test/") || f.startsWith("dist/test/") || f.startsWith("dist/bench/"))).toEqual([]);
  expect(packedFiles.filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || f.endsWith(".map"))).toEqual([]);
  const installed = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as { devDependencies?: Record<string, string> };
  expect(Object.keys(installed.devDependencies ?? {})).toEqual(["local-cloudhsm"]);
});

test("the installed local-cloudhsm command serves; the README's client example and the installed kmu use it", async () => {
  // The daemon is seeded from a file in the new project: one crypto user and one fixed AES key.
  const seedFile = join(project, "seed.yaml");
  writeFileSync(
    seedFile,
    [
      "users:",
      "  - { role: CU, name: seeded, password: seeded-password }",
      "keys:",
      "  - { owner: seeded, label: from-seed, id: seed-1, type: aes, size: 32 }",
      "",
    ].join("\n"),
  );
  const seedArgs: string[] = ["--seed", seedFile];
  const daemon = await DaemonProcess.start(standardArgs(join(project, "data"), seedArgs), undefined, undefined, {
    script: join(project, "node_modules", ".bin", "local-cloudhsm"),
  });
  const client = await step(process.execPath, [join(project, "out", "makeKey.js")], project, { LOCALCLOUDHSM_ADDRESS: daemon.address });
  const made = JSON.parse(client.stdout) as { keyHandle: number; found: number[] };
  expect(made.found).toEqual([made.keyHandle]);

  const kmu = await runKmu(["findKey", "-l", "from-package"], {
    script: join(project, "node_modules", ".bin", "kmu"),
    cwd: project,
    env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: DEV_PASSWORD },
  });
  expect(kmu.code).toBe(0);
  expect(foundHandles(kmu)).toEqual([made.keyHandle]);

  // The seeded key is there for its owner, found by the installed kmu.
  const seeded = await runKmu(["findKey", "-l", "from-seed"], {
    script: join(project, "node_modules", ".bin", "kmu"),
    cwd: project,
    env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: "seeded", KMU_PASSWORD: "seeded-password" },
  });
  expect(seeded.code).toBe(0);
  expect(foundHandles(seeded)).toHaveLength(1);

  // The container's HEALTHCHECK, with the image's install dir (/app) standing for this project.
  const health = await step(process.execPath, [dockerHealthcheckScript(project), daemon.address], project);
  expect(health.stdout).toBe(`${daemon.address}: SERVING\n`);
  expect((await daemon.stop()).code).toBe(0);
  closer.closeAll();
});

test("jest in the new project runs the README's startEmulator test, and exits (stop() leaves nothing open)", async () => {
  const config = { rootDir: join(project, "out"), testEnvironment: "node", testMatch: ["**/*.test.js"] };
  const resultFile = join(project, "jest-result.json");
  await step(
    process.execPath,
    [join(REPO_ROOT, "node_modules", "jest", "bin", "jest.js"), "--config", JSON.stringify(config), "--ci", "--no-watchman", "--json", "--outputFile", resultFile],
    project,
  );
  const result = JSON.parse(readFileSync(resultFile, "utf8")) as { success: boolean; numPassedTests: number; numFailedTests: number };
  expect(result).toMatchObject({ success: true, numPassedTests: 1, numFailedTests: 0 });
});
