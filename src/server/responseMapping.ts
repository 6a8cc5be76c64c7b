// Domain results to proto messages.
import { NodeStatus, StepResult, User, UserType } from "../../clients/generated/localcloudhsm/v1/common";
import { AttributeValue, SyncEvent, SyncEventType } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { AttributeReading } from "../hsm/attributes";
import { NodeResult, StepOutcome } from "../hsm/cluster";
import { returnCodeText } from "../../common/returnCodes";
import { ClusterEvent, ClusterEventKind } from "../hsm/revisionLog";
import { UserInfo, UserRole } from "../hsm/users";

export function toNodeStatuses(nodes: readonly NodeResult[]): NodeStatus[] {
  return nodes.map((n) => ({ nodeId: n.nodeId, errState: n.errState, description: returnCodeText(n.errState), holdsKey: n.holdsKey ?? false }));
}

export function toSteps(steps: readonly StepOutcome[]): StepResult[] {
  return steps.map((s) => ({ name: s.name, returnCode: s.returnCode, description: returnCodeText(s.returnCode) }));
}

export function toAttributeValue(reading: AttributeReading): AttributeValue {
  const d = reading.data;
  const value: AttributeValue["value"] =
    d.kind === "bool"
      ? { $case: "boolValue", value: d.value }
      : d.kind === "uint"
        ? { $case: "uintValue", value: d.value }
        : d.kind === "text"
          ? { $case: "stringValue", value: d.value }
          : { $case: "bytesValue", value: d.value };
  return { attributeId: reading.id, name: reading.name, value, text: reading.text };
}

export function toUser(user: UserInfo): User {
  return {
    userId: user.userId,
    userType: user.role === UserRole.CO ? UserType.USER_TYPE_CO : UserType.USER_TYPE_CU,
    username: user.username,
    loginFailureCount: user.loginFailures,
    locked: user.locked,
  };
}

const EVENT_TYPES: Record<ClusterEventKind, SyncEventType> = {
  KEY_CREATED: SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED,
  KEY_REPLICATED: SyncEventType.SYNC_EVENT_TYPE_KEY_REPLICATED,
  KEY_TOMBSTONED: SyncEventType.SYNC_EVENT_TYPE_KEY_TOMBSTONED,
  KEY_DELETED: SyncEventType.SYNC_EVENT_TYPE_KEY_DELETED,
  SHARING_CHANGED: SyncEventType.SYNC_EVENT_TYPE_SHARING_CHANGED,
  NODE_DOWN: SyncEventType.SYNC_EVENT_TYPE_NODE_DOWN,
  NODE_UP: SyncEventType.SYNC_EVENT_TYPE_NODE_UP,
  NODE_PARTITIONED: SyncEventType.SYNC_EVENT_TYPE_NODE_PARTITIONED,
  REPLICATION_PAUSED: SyncEventType.SYNC_EVENT_TYPE_REPLICATION_PAUSED,
  REPLICATION_RESUMED: SyncEventType.SYNC_EVENT_TYPE_REPLICATION_RESUMED,
  KEY_MADE_TOKEN: SyncEventType.SYNC_EVENT_TYPE_KEY_MADE_TOKEN,
  NODE_FIRMWARE_CHANGED: SyncEventType.SYNC_EVENT_TYPE_NODE_FIRMWARE_CHANGED,
  STATE_REPLACED: SyncEventType.SYNC_EVENT_TYPE_STATE_REPLACED,
};

export function toSyncEvent(event: ClusterEvent): SyncEvent {
  return {
    revision: String(event.revision),
    type: EVENT_TYPES[event.kind],
    keyHandle: event.handle,
    nodeId: event.nodeId,
    nodesHolding: event.nodesHolding,
    nodeCount: event.nodeCount,
    time: new Date(event.atMs),
  };
}
