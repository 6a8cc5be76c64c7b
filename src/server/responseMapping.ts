// Domain results to proto messages.
import { NodeStatus, StepResult, User, UserType } from "../../clients/generated/localcloudhsm/v1/common";
import { AttributeValue } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { AttributeReading } from "../hsm/attributes";
import { NodeResult, StepOutcome } from "../hsm/cluster";
import { returnCodeText } from "../hsm/returnCodes";
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
