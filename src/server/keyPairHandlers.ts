// HsmService handlers for asymmetric keys: GenerateKeyPair, Sign, Verify, and public/private key import and export.
import { HandlerKit, HsmServiceHandlers } from "./handlerKit";
import { notYetServed } from "./notYetServed";

type KeyPairMethods =
  | "generateKeyPair"
  | "sign"
  | "verify"
  | "importPublicKey"
  | "importPrivateKey"
  | "exportPublicKey"
  | "exportPrivateKey";

export function keyPairHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, KeyPairMethods> {
  return {
    generateKeyPair: notYetServed("GenerateKeyPair", kit),
    sign: notYetServed("Sign", kit),
    verify: notYetServed("Verify", kit),
    importPublicKey: notYetServed("ImportPublicKey", kit),
    importPrivateKey: notYetServed("ImportPrivateKey", kit),
    exportPublicKey: notYetServed("ExportPublicKey", kit),
    exportPrivateKey: notYetServed("ExportPrivateKey", kit),
  };
}
