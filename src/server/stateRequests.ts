// Validation and response shapes of the AdminService state calls (ResetState, snapshots).
import { SnapshotInfo as SnapshotMessage, StateReplaced as StateMessage } from "../../clients/generated/localcloudhsm/v1/admin_service";
import { SnapshotInfo, StateReplaced } from "../hsm/cluster";
import { HsmError } from "../hsm/errors";
import { checkSnapshotName } from "../hsm/store/snapshotShelf";

/** The snapshot name of a SaveSnapshot or RestoreSnapshot request; SNAPSHOT_NAME_INVALID otherwise. */
export function validateSnapshotName(request: { readonly name: string }): string {
  checkSnapshotName(request.name);
  return request.name;
}

/** Whether a reset goes to the seed; SEED_NOT_CONFIGURED when asked for one the daemon was not given. */
export function validateResetState(request: { readonly toSeed: boolean }, seedConfigured: boolean): { readonly toSeed: boolean } {
  if (request.toSeed && !seedConfigured) {
    throw new HsmError("SEED_NOT_CONFIGURED", "the daemon was started without --seed; reset to empty, or start it with a seed file");
  }
  return { toSeed: request.toSeed };
}

export function toStateMessage(state: StateReplaced): StateMessage {
  return { revision: String(state.revision), userCount: state.userCount, keyCount: state.keyCount, sessionsEnded: state.sessionsEnded };
}

export function toSnapshotMessage(info: SnapshotInfo): SnapshotMessage {
  return { name: info.name, userCount: info.userCount, keyCount: info.keyCount, savedAtMs: String(info.savedAtMs) };
}
