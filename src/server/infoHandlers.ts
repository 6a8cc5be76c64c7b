// HsmService handlers that describe the cluster and the caller's session: GetHsmInfo and GetLoginStatus.
import { UserType } from "../../clients/generated/localcloudhsm/v1/common";
import { UserRole } from "../hsm/users";
import { unaryCall } from "./callAdapter";
import { HandlerKit, HsmServiceHandlers } from "./handlerKit";

/**
 * Both need a session of either role, like ListHsmUsers: a caller without one learns nothing about the cluster
 * (CloudHSM's getHSMInfo needs no login, but the emulator serves nothing to an unauthenticated caller).
 */
export function infoHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, "getHsmInfo" | "getLoginStatus"> {
  return {
    getHsmInfo: unaryCall("GetHsmInfo", kit.logger, (_request, context) => {
      kit.authenticate(context);
      const { hsms, partition } = kit.cluster.hsmInfo();
      return { hsms, partition };
    }),

    getLoginStatus: unaryCall("GetLoginStatus", kit.logger, (_request, context) => {
      const session = kit.authenticate(context);
      return {
        userId: session.userId,
        username: session.username,
        userType: session.role === UserRole.CO ? UserType.USER_TYPE_CO : UserType.USER_TYPE_CU,
        nodeId: session.nodeId,
        expiresAt: new Date(kit.cluster.sessionExpiresAt(session)),
      };
    }),
  };
}
