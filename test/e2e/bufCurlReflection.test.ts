// buf curl, a client that knows nothing but what server reflection tells it, against a real daemon: it lists
// grpc.health.v1.Health among the methods, calls it, and resolves google.rpc.ErrorInfo through reflection.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { FileDescriptorProto, IFileDescriptorProto } from "protobufjs/ext/descriptor";
import { DaemonProcess, makeTempDir, REPO_ROOT, standardArgs } from "./support/daemonProcess";
import { freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const BUF = join(REPO_ROOT, "node_modules", ".bin", "buf");

interface BufRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `buf curl --protocol grpc --http2-prior-knowledge --reflect <args>` (offline: only the daemon on 127.0.0.1 is contacted). */
function bufCurl(args: readonly string[]): Promise<BufRun> {
  return new Promise((resolve, reject) => {
    execFile(
      BUF,
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect", ...args],
      { timeout: 30_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: makeTempDir("lch-buf-home-") } },
      (err, stdout, stderr) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- it is an Error; @types/node types it as an Omit<> intersection the rule cannot see as one
        if (err && typeof err.code !== "number") reject(err);
        else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

useDaemonCleanup("file");

describe("buf curl --reflect", () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    daemon = await DaemonProcess.start(standardArgs(freshDataDir("lch-buf-")));
  });
  afterAll(async () => {
    await daemon.stop();
  });

  test("--list-methods includes grpc.health.v1.Health/Check next to the project's services", async () => {
    const run = await bufCurl(["--list-methods", `http://${daemon.address}`]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    const methods = run.stdout.split("\n").filter((line) => line !== "");
    expect(methods).toEqual(expect.arrayContaining(["grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch", "localcloudhsm.v1.HsmService/Login"]));
  });

  test("a health check through reflection answers SERVING", async () => {
    const run = await bufCurl(["-d", "{}", `http://${daemon.address}/grpc.health.v1.Health/Check`]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: "SERVING" });
  });

  // buf curl prints error details only for types compiled into it, so ErrorInfo is fetched the way any reflecting
  // client fetches it: buf curl calls the reflection service (which it found through reflection) for the symbol.
  test("google.rpc.ErrorInfo resolves through reflection, its map entry named as protoc names it", async () => {
    const run = await bufCurl(["-d", '{"fileContainingSymbol":"google.rpc.ErrorInfo"}', `http://${daemon.address}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo`]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    const response = JSON.parse(run.stdout) as { fileDescriptorResponse?: { fileDescriptorProto: string[] } };
    const files = (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map(
      (b64) => FileDescriptorProto.toObject(FileDescriptorProto.decode(Buffer.from(b64, "base64")), { arrays: true }) as IFileDescriptorProto,
    );
    const errorInfo = files.find((f) => f.package === "google.rpc")?.messageType?.find((m) => m.name === "ErrorInfo");
    expect(errorInfo?.field?.map((f) => [f.name, f.typeName ?? ""])).toEqual([
      ["reason", ""],
      ["domain", ""],
      ["metadata", "MetadataEntry"],
    ]);
    expect(errorInfo?.nestedType?.map((n) => [n.name, n.options?.mapEntry])).toEqual([["MetadataEntry", true]]);
  });
});
