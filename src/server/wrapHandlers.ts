// HsmService handlers that wrap and unwrap keys: WrapKey, UnwrapHostKey and UnwrapKey.
import { unaryCall } from "./callAdapter";
import { HandlerKit, HsmServiceHandlers, keyCreationCall } from "./handlerKit";
import { toSteps } from "./responseMapping";
import { validateUnwrapKey, validateWrapKey } from "./wrapValidation";

export function wrapHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, "wrapKey" | "unwrapHostKey" | "unwrapKey"> {
  const { cluster, logger } = kit;
  return {
    wrapKey: unaryCall("WrapKey", logger, (request, context) => {
      const session = kit.authenticate(context);
      context.log.keyHandle = request.keyHandle;
      const wrapped = cluster.wrapKey(session, validateWrapKey(request));
      return { wrappedKey: wrapped, steps: toSteps([{ name: "Cfm3WrapKey", returnCode: 0 }]) };
    }),

    unwrapHostKey: unaryCall("UnwrapHostKey", logger, (request, context) => {
      const session = kit.authenticate(context);
      const material = cluster.unwrapHostKey(session, request.wrappingKeyHandle, request.wrappedKey);
      return { keyMaterial: material, steps: toSteps([{ name: "Cfm3UnWrapHostKey", returnCode: 0 }]) };
    }),

    unwrapKey: keyCreationCall(kit, "UnwrapKey", validateUnwrapKey, (session, params, signal) => cluster.unwrapKey(session, params, signal)),
  };
}
