// Every RPC of the three services, taken from the generated service definitions, so a test that walks "every method"
// notices when a method is added.
import * as adminProto from "../../clients/generated/localcloudhsm/v1/admin_service";
import * as controlProto from "../../clients/generated/localcloudhsm/v1/cluster_control_service";
import * as hsmProto from "../../clients/generated/localcloudhsm/v1/hsm_service";

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

/** A generated message type's fromPartial: fills the fields a request leaves out with their defaults. */
type Completer = (partial: unknown) => unknown;

function methodsOf(service: ServiceName, definition: Record<string, Definition>, messages: object): MethodInfo[] {
  const completer = (name: string): Completer => {
    const type = (messages as Record<string, { fromPartial?: Completer } | undefined>)[`${name}Request`];
    if (!type?.fromPartial) throw new Error(`no generated ${name}Request`);
    return type.fromPartial.bind(type);
  };
  return Object.entries(definition).map(([key, d]) => ({
    service,
    key,
    name: d.path.slice(d.path.lastIndexOf("/") + 1),
    path: d.path,
    responseStream: d.responseStream,
    // Requests are written as partial objects; the generated encoder needs every scalar field set.
    encode: (request: unknown) => Buffer.from((d.requestSerialize as (value: unknown) => Buffer)(completer(d.path.slice(d.path.lastIndexOf("/") + 1))(request))),
    decodeRequest: (bytes: Buffer) => d.requestDeserialize(bytes),
    decodeResponse: (bytes: Buffer) => d.responseDeserialize(bytes),
  }));
}

export const HSM_METHODS: readonly MethodInfo[] = methodsOf("HsmService", hsmProto.HsmServiceService, hsmProto);
export const ADMIN_METHODS: readonly MethodInfo[] = methodsOf("AdminService", adminProto.AdminServiceService, adminProto);
export const CONTROL_METHODS: readonly MethodInfo[] = methodsOf("ClusterControlService", controlProto.ClusterControlServiceService, controlProto);
export const ALL_METHODS: readonly MethodInfo[] = [...HSM_METHODS, ...ADMIN_METHODS, ...CONTROL_METHODS];

/** The method of `service` named `name` (the proto name, e.g. "ShareKey"). */
export function method(service: ServiceName, name: string): MethodInfo {
  const found = ALL_METHODS.find((m) => m.service === service && m.name === name);
  if (!found) throw new Error(`no method ${service}/${name}`);
  return found;
}
