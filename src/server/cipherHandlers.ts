// HsmService handlers that use keys on data: Encrypt, Decrypt, Mac and VerifyMac.
import { HandlerKit, HsmServiceHandlers } from "./handlerKit";
import { notYetServed } from "./notYetServed";

export function cipherHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, "encrypt" | "decrypt" | "mac" | "verifyMac"> {
  return {
    encrypt: notYetServed("Encrypt", kit),
    decrypt: notYetServed("Decrypt", kit),
    mac: notYetServed("Mac", kit),
    verifyMac: notYetServed("VerifyMac", kit),
  };
}
