// Public entry of the TypeScript clients: the facade, typed errors and the generated messages.
export { AdminClient, ATTRIBUTE, DEFAULT_ADDRESS, HsmClient, KEY_TYPE } from "./hsmClient";
export type { Attested, ConnectOptions, FindOptions, ImportOptions, NewKeyOptions } from "./hsmClient";
export { errorInfoOf, HsmClientError, toClientError } from "./errors";
export { aesKeyUnwrapPkcs5, aesKeyWrapPkcs5, UnwrapIntegrityError } from "../common/keyWrap";
export { lookupReturnCode, RETURN_CODES, returnCodeText } from "../common/returnCodes";
export type { ReturnCode } from "../common/returnCodes";
export { tlsCredentials } from "./tls";
export type { TlsFiles } from "./tls";
export { loadPinnedKeys, savePinnedKeys, verifyAttestations } from "./attestation";
export type { AttestationVerdict } from "./attestation";
export { ClusterControlClient, NodeState } from "./controlClient";
export { eventsIn, KeyGoneError, waitForSync, watchRequest, watchSyncStatus } from "./syncWatch";
export type { WatchOptions } from "./syncWatch";
export { UserType } from "./generated/localcloudhsm/v1/common";
export * as hsmProto from "./generated/localcloudhsm/v1/hsm_service";
export * as adminProto from "./generated/localcloudhsm/v1/admin_service";
export * as controlProto from "./generated/localcloudhsm/v1/cluster_control_service";
