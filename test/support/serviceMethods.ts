// Every RPC of the three services, taken from the generated service definitions, so a test that walks "every method"
// notices when a method is added.
import { AdminServiceService } from "../../clients/generated/localcloudhsm/v1/admin_service";
import { ClusterControlServiceService } from "../../clients/generated/localcloudhsm/v1/cluster_control_service";
import { HsmServiceService } from "../../clients/generated/localcloudhsm/v1/hsm_service";

export type ServiceName = "HsmService" | "AdminService" | "ClusterControlService";

/** One method, untyped: encode a request, decode a request the way the daemon does, decode a response. */
export interface MethodInfo {
  readonly service: ServiceName;
  /** The proto method name, e.g. "GetAttribute". */
  readonly name: string;
  /** The generated definition's key, e.g. "getAttribute". */
  readonly key: string;
  readonly path: string;
  readonly responseStream: boolean;
  encode(request: unknown): Buffer;
  decodeRequest(bytes: Buffer): unknown;
  decodeResponse(bytes: Buffer): unknown;
}

interface Definition {
  readonly path: string;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: never) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => unknown;
  readonly responseDeserialize: (bytes: Buffer) => unknown;
}

function methodsOf(service: ServiceName, definition: Record<string, Definition>): MethodInfo[] {
  return Object.entries(definition).map(([key, d]) => ({
    service,
    key,
    name: d.path.slice(d.path.lastIndexOf("/") + 1),
    path: d.path,
    responseStream: d.responseStream,
    encode: (request: unknown) => Buffer.from((d.requestSerialize as (value: unknown) => Buffer)(request)),
    decodeRequest: (bytes: Buffer) => d.requestDeserialize(bytes),
    decodeResponse: (bytes: Buffer) => d.responseDeserialize(bytes),
  }));
}

export const HSM_METHODS: readonly MethodInfo[] = methodsOf("HsmService", HsmServiceService);
export const ADMIN_METHODS: readonly MethodInfo[] = methodsOf("AdminService", AdminServiceService);
export const CONTROL_METHODS: readonly MethodInfo[] = methodsOf("ClusterControlService", ClusterControlServiceService);
export const ALL_METHODS: readonly MethodInfo[] = [...HSM_METHODS, ...ADMIN_METHODS, ...CONTROL_METHODS];

/** The method of `service` named `name` (the proto name, e.g. "ShareKey"). */
export function method(service: ServiceName, name: string): MethodInfo {
  const found = ALL_METHODS.find((m) => m.service === service && m.name === name);
  if (!found) throw new Error(`no method ${service}/${name}`);
  return found;
}
