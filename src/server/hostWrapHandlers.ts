// HsmService handler that wraps host-supplied bytes under an HSM key: WrapHostKey (kmu aesWrapUnwrap -m 1).
import { unaryCall } from "./callAdapter";
import { HandlerKit, HsmServiceHandlers } from "./handlerKit";
import { toSteps } from "./responseMapping";

export function hostWrapHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, "wrapHostKey"> {
  return {
    wrapHostKey: unaryCall("WrapHostKey", kit.logger, (request, context) => {
      const session = kit.authenticate(context);
      const wrapped = kit.cluster.wrapHostKey(session, request.wrappingKeyHandle, request.data);
      return { wrappedKey: wrapped, steps: toSteps([{ name: "Cfm3WrapHostKey", returnCode: 0 }]) };
    }),
  };
}
