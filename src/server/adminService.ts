// AdminService handlers: user management, reset and snapshots for callers holding the admin secret.
import { AdminServiceServer } from "../../clients/generated/localcloudhsm/v1/admin_service";
import { HsmCluster, SeededKey } from "../hsm/cluster";
import { SeedDocument } from "../hsm/seed";
import { requireAdminSecret } from "./auth";
import { unaryCall } from "./callAdapter";
import { Logger } from "./logger";
import { validateCreateUser, validateUnlockUser } from "./requestValidation";
import { toUser } from "./responseMapping";
import { toSnapshotMessage, toStateMessage, validateResetState, validateSnapshotName } from "./stateRequests";

/** `seed` is the daemon's seed (ResetState to_seed), if it was given one. */
export function adminServiceHandlers(cluster: HsmCluster, adminSecret: string, logger: Logger, seed?: SeedDocument): AdminServiceServer {
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

    resetState: unaryCall("ResetState", logger, async (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      const { toSeed } = validateResetState(request, seed !== undefined);
      const state = await cluster.resetState(toSeed ? seed : undefined);
      logger.info("state reset", { to: toSeed ? "seed" : "empty", revision: state.revision, users: state.userCount, keys: state.keyCount, sessions_ended: state.sessionsEnded });
      if (state.seeded.length > 0) logSeededKeys(logger, state.seeded);
      return { state: toStateMessage(state) };
    }),

    saveSnapshot: unaryCall("SaveSnapshot", logger, (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      const name = validateSnapshotName(request);
      const info = cluster.saveSnapshot(name);
      logger.info("snapshot saved", { name, users: info.userCount, keys: info.keyCount });
      return { snapshot: toSnapshotMessage(info) };
    }),

    restoreSnapshot: unaryCall("RestoreSnapshot", logger, (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      const name = validateSnapshotName(request);
      const state = cluster.restoreSnapshot(name);
      logger.info("snapshot restored", { name, revision: state.revision, users: state.userCount, keys: state.keyCount, sessions_ended: state.sessionsEnded });
      return { state: toStateMessage(state) };
    }),

    listSnapshots: unaryCall("ListSnapshots", logger, (_request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      return { snapshots: cluster.listSnapshots().map(toSnapshotMessage) };
    }),
  };
}

/** One line naming every seeded key's handle (never its material). */
export function logSeededKeys(logger: Logger, seeded: readonly SeededKey[]): void {
  logger.info("seeded keys", {
    keys: seeded.map((k) => ({ handle: k.handle, owner: k.owner, id: k.id, label: k.label, created: k.created })),
  });
}
