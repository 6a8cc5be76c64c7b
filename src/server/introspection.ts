// grpc.health.v1 and server reflection for the daemon's services.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
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

/** Registers v1 and v1alpha server reflection over the project's .proto files. */
export function addReflection(server: grpc.Server): void {
  const root = protoRoot();
  const definition = protoLoader.loadSync(serviceProtoFiles(root), { includeDirs: [root] });
  new ReflectionService(withLinkedFiles(definition)).addToServer(server);
}
