// grpc.health.v1 and server reflection for the daemon's services.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check";
import { dirname, join, relative } from "node:path";
import { mapFailure } from "./errorMapping";
import { protoRoot, serviceProtoFiles } from "./protoFiles";
import { withLinkedFiles } from "./reflectionDescriptors";

export const SERVICE_NAMES = ["localcloudhsm.v1.HsmService", "localcloudhsm.v1.AdminService", "localcloudhsm.v1.ClusterControlService"] as const;

/** Registers health (overall "" plus one entry per service) and returns it so shutdown can flip it. */
export function addHealth(server: grpc.Server): HealthImplementation {
  const statuses: Record<string, "SERVING"> = { "": "SERVING" };
  for (const name of SERVICE_NAMES) statuses[name] = "SERVING";
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  return health;
}

export function setAllNotServing(health: HealthImplementation): void {
  health.setStatus("", "NOT_SERVING");
  for (const name of SERVICE_NAMES) health.setStatus(name, "NOT_SERVING");
}

/**
 * The google.rpc types every failure carries in grpc-status-details-bin: served too, so a client
 * using reflection (buf curl, grpcurl) can decode the ErrorInfo of an error.
 */
const RICH_STATUS_PROTO_FILES = ["google/rpc/status.proto", "google/rpc/error_details.proto"];

/**
 * Registers v1 and v1alpha server reflection over everything the daemon serves: the project's .proto
 * files, the rich-status types, grpc.health.v1 and server reflection itself, each from the .proto
 * its package ships (the one its service is built from).
 *
 * Parsing those files and building their descriptors costs about a third of a second of CPU, on every
 * start, for a service few callers use: the services are registered now (from a reflection service over
 * nothing, which costs only the reflection .proto), and the real one is built on the first reflection call.
 */
export function addReflection(server: Pick<grpc.Server, "addService">): void {
  let built: ReadonlyMap<string, grpc.UntypedServiceImplementation> | undefined;
  const handlersOf = (reflection: ReflectionService): Map<string, grpc.UntypedServiceImplementation> => {
    const out = new Map<string, grpc.UntypedServiceImplementation>();
    reflection.addToServer({ addService: (definition, implementation) => out.set(serviceKey(definition), implementation) });
    return out;
  };
  const placeholder = new ReflectionService({});
  placeholder.addToServer({
    addService: (definition, implementation) => {
      const key = serviceKey(definition);
      const lazy: grpc.UntypedServiceImplementation = {};
      for (const method of Object.keys(implementation)) {
        lazy[method] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
          let handler: grpc.handleBidiStreamingCall<unknown, unknown> | undefined;
          try {
            built ??= handlersOf(new ReflectionService(withLinkedFiles(loadServedFiles())));
            handler = built.get(key)?.[method] as grpc.handleBidiStreamingCall<unknown, unknown> | undefined;
            if (!handler) throw new Error(`reflection has no handler for ${key}/${method}`);
          } catch (err) {
            // Only a damaged installation (a .proto missing) gets here: the call fails INTERNAL, the daemon keeps serving.
            call.emit("error", mapFailure(err).status);
            return;
          }
          handler(call);
        };
      }
      server.addService(definition, lazy);
    },
  });
}

/** A service definition's identity: the path of its first method (`/grpc.reflection.v1.ServerReflection/...`). */
function serviceKey(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  return first ? first.path.slice(0, first.path.lastIndexOf("/")) : "";
}

/** Parses every .proto file reflection describes. */
function loadServedFiles(): protoLoader.PackageDefinition {
  const root = protoRoot();
  const healthRoot = join(dirname(healthProtoPath), "..", "..");
  const reflectionRoot = join(dirname(require.resolve("@grpc/reflection/package.json")), "build", "proto");
  const files = [
    ...serviceProtoFiles(root),
    ...RICH_STATUS_PROTO_FILES,
    relative(healthRoot, healthProtoPath),
    "grpc/reflection/v1/reflection.proto",
    "grpc/reflection/v1alpha/reflection.proto",
  ];
  return protoLoader.loadSync(files, { includeDirs: [root, healthRoot, reflectionRoot] });
}
