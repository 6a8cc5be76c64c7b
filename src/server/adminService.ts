// AdminService handlers: user management for callers holding the admin secret.
import { AdminServiceServer } from "../../clients/generated/localcloudhsm/v1/admin_service";
import { HsmCluster } from "../hsm/cluster";
import { requireAdminSecret } from "./auth";
import { unaryCall } from "./callAdapter";
import { Logger } from "./logger";
import { validateCreateUser, validateUnlockUser } from "./requestValidation";
import { toUser } from "./responseMapping";

export function adminServiceHandlers(cluster: HsmCluster, adminSecret: string, logger: Logger): AdminServiceServer {
  return {
    createUser: unaryCall("CreateUser", logger, async (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      const { role, username, password } = validateCreateUser(request);
      const user = await cluster.createUser(role, username, password);
      context.log.userId = user.userId;
      return { user: toUser(user) };
    }),

    listUsers: unaryCall("ListUsers", logger, (_request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      return { users: cluster.listUsers().map(toUser) };
    }),

    unlockUser: unaryCall("UnlockUser", logger, async (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      const { username, newPassword } = validateUnlockUser(request);
      const user = await cluster.resetUserLogin("admin", username, newPassword);
      context.log.userId = user.userId;
      return { user: toUser(user) };
    }),
  };
}
