// HsmService handlers that describe the cluster and the caller's session: GetHsmInfo and GetLoginStatus.
import { HandlerKit, HsmServiceHandlers } from "./handlerKit";
import { notYetServed } from "./notYetServed";

export function infoHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, "getHsmInfo" | "getLoginStatus"> {
  return {
    getHsmInfo: notYetServed("GetHsmInfo", kit),
    getLoginStatus: notYetServed("GetLoginStatus", kit),
  };
}
