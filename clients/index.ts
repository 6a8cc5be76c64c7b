// Public entry of the TypeScript clients: the facade, typed errors and the generated messages.
export { AdminClient, ATTRIBUTE, DEFAULT_ADDRESS, HsmClient, KEY_TYPE } from "./hsmClient";
export type { ConnectOptions, FindOptions, ImportOptions, NewKeyOptions } from "./hsmClient";
export { errorInfoOf, HsmClientError, toClientError } from "./errors";
export { wrapOnHost } from "./hostWrap";
export { UserType } from "./generated/localcloudhsm/v1/common";
export * as hsmProto from "./generated/localcloudhsm/v1/hsm_service";
export * as adminProto from "./generated/localcloudhsm/v1/admin_service";
