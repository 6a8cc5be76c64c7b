// The unary methods the benchmark calls: the ceiling (grpc.health.v1.Health/Check), the measured HsmService methods and the crypto rows' key set-up.
import { service as healthService } from "grpc-health-check";
import { HsmServiceService } from "../clients/generated/localcloudhsm/v1/hsm_service";
import { UnaryMethod } from "./unaryClient";

/** grpc.health.v1.HealthCheckRequest / HealthCheckResponse as grpc-health-check's proto-loader definition decodes them. */
export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status?: string;
}

const check = healthService["Check"];
if (check === undefined) throw new Error("grpc-health-check has no Health/Check method");

/** The empty call: as little server work as a unary call can carry. */
export const HEALTH_CHECK: UnaryMethod<HealthCheckRequest, HealthCheckResponse> = {
  path: check.path,
  requestSerialize: (value) => check.requestSerialize(value),
  responseDeserialize: (bytes) => check.responseDeserialize(bytes),
};

export const GET_ATTRIBUTE = HsmServiceService.getAttribute;
export const FIND_KEY = HsmServiceService.findKey;
export const IMPORT_SYM_KEY = HsmServiceService.importSymKey;
export const GEN_SYM_KEY = HsmServiceService.genSymKey;
export const ENCRYPT = HsmServiceService.encrypt;
export const SIGN = HsmServiceService.sign;
export const IMPORT_PRIVATE_KEY = HsmServiceService.importPrivateKey;
