// The wire seen without ts-proto: dynamic grpc-js clients from .proto files (proto-loader) and protobufjs decoding
// of grpc-status-details-bin, health and reflection.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Root, Type } from "protobufjs";
import { protoPath as healthProtoPath } from "grpc-health-check";

/** The project's proto/ folder. */
export const PROTO_ROOT = resolve(__dirname, "..", "..", "proto");

/** Options that keep field names as in the .proto and show enums by name, as grpcurl-style clients do. */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, enums: String, defaults: true, oneofs: true };

/** A dynamic client: its methods are looked up by the .proto method name. */
export type DynamicClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
type DynamicClientConstructor = new (address: string, credentials: grpc.ChannelCredentials) => DynamicClient;

/** Loads proto/localcloudhsm/v1/*.proto with proto-loader (include dir proto/) and returns the localcloudhsm.v1 package. */
export function loadLocalCloudHsmPackage(): Record<string, DynamicClientConstructor> {
  const files = readdirSync(join(PROTO_ROOT, "localcloudhsm", "v1"))
    .filter((f) => f.endsWith(".proto"))
    .map((f) => `localcloudhsm/v1/${f}`);
  const definition = protoLoader.loadSync(files, { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { localcloudhsm: { v1: Record<string, DynamicClientConstructor> } };
  return loaded.localcloudhsm.v1;
}

/** grpc.health.v1.Health, from the .proto shipped with grpc-health-check. */
export function healthClient(address: string): DynamicClient {
  const definition = protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: DynamicClientConstructor } } } };
  return new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

/** grpc.reflection.<version>.ServerReflection, from the .proto shipped inside @grpc/reflection. */
export function reflectionClient(address: string, version: "v1" | "v1alpha"): DynamicClient {
  const protoDir = join(dirname(require.resolve("@grpc/reflection/package.json")), "build", "proto");
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { ...LOADER_OPTIONS, includeDirs: [protoDir] });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: DynamicClientConstructor }> };
  };
  return new loaded.grpc.reflection[version]!.ServerReflection(address, grpc.credentials.createInsecure());
}

/** Calls a dynamic client's unary method; rejects with the raw grpc-js ServiceError (no facade involved). */
export function dynamicUnary<Res>(client: DynamicClient, method: string, request: object, metadata: grpc.Metadata = new grpc.Metadata()): Promise<Res> {
  const fn = client[method];
  if (typeof fn !== "function") throw new Error(`the dynamic client has no method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, metadata, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

/** Sends one request on a fresh bidirectional reflection stream and resolves with the first response; the stream is then closed. */
export function reflect<Res>(client: DynamicClient, request: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo!({ deadline: Date.now() + 10_000 }) as grpc.ClientDuplexStream<object, Res>;
    let answered = false;
    call.on("data", (response: Res) => {
      if (answered) return;
      answered = true;
      resolve(response);
      call.end();
    });
    call.on("error", (err) => (answered ? undefined : reject(err)));
    call.on("end", () => (answered ? undefined : reject(new Error("the reflection stream ended without a response"))));
    call.write(request);
  });
}

let rpcTypes: { status: Type; errorInfo: Type } | undefined;

/** google.rpc.Status and google.rpc.ErrorInfo loaded by protobufjs from proto/google/rpc/. */
function richStatusTypes(): { status: Type; errorInfo: Type } {
  if (!rpcTypes) {
    const root = new Root();
    root.resolvePath = (_origin, target) => (target.startsWith("google/rpc/") ? join(PROTO_ROOT, target) : target);
    root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });
    rpcTypes = { status: root.lookupType("google.rpc.Status"), errorInfo: root.lookupType("google.rpc.ErrorInfo") };
  }
  return rpcTypes;
}

export interface DecodedErrorInfo {
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Record<string, string>;
}

export interface DecodedRichStatus {
  readonly code: number;
  readonly message: string;
  readonly detailTypeUrls: string[];
  readonly errorInfo: DecodedErrorInfo | undefined;
}

/** Decodes a grpc-status-details-bin trailer by hand: google.rpc.Status, then the Any holding google.rpc.ErrorInfo. */
export function decodeStatusDetails(bin: Buffer): DecodedRichStatus {
  const { status, errorInfo } = richStatusTypes();
  const decoded = status.toObject(status.decode(bin), { defaults: true }) as {
    code: number;
    message: string;
    details: { type_url: string; value: Uint8Array }[];
  };
  const detail = decoded.details.find((d) => d.type_url === "type.googleapis.com/google.rpc.ErrorInfo");
  const info = detail
    ? (errorInfo.toObject(errorInfo.decode(detail.value), { defaults: true, objects: true }) as DecodedErrorInfo)
    : undefined;
  return { code: decoded.code, message: decoded.message, detailTypeUrls: decoded.details.map((d) => d.type_url), errorInfo: info };
}

/** The FileDescriptorProto type, for decoding reflection answers (toObject gives camelCase names, e.g. messageType). */
export function fileDescriptorType(): Type {
  const root = new Root();
  root.loadSync(join(dirname(require.resolve("protobufjs/package.json")), "google", "protobuf", "descriptor.proto"));
  return root.lookupType("google.protobuf.FileDescriptorProto");
}
