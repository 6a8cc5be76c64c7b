// HsmService handlers that use keys on data: Encrypt, Decrypt, Mac and VerifyMac.
import { unaryCall } from "./callAdapter";
import { validateDecrypt, validateEncrypt, validateMac, validateVerifyMac } from "./cipherValidation";
import { HandlerKit, HsmServiceHandlers } from "./handlerKit";

/** Each logs the key handle only: data, IVs and MACs never reach a log line. */
export function cipherHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, "encrypt" | "decrypt" | "mac" | "verifyMac"> {
  const { cluster, logger } = kit;
  return {
    encrypt: unaryCall("Encrypt", logger, (request, context) => {
      const session = kit.authenticate(context);
      context.log.keyHandle = request.keyHandle;
      const { ciphertext, iv, tag } = cluster.encrypt(session, validateEncrypt(request));
      return { ciphertext, iv, tag };
    }),

    decrypt: unaryCall("Decrypt", logger, (request, context) => {
      const session = kit.authenticate(context);
      context.log.keyHandle = request.keyHandle;
      return { plaintext: cluster.decrypt(session, validateDecrypt(request)) };
    }),

    mac: unaryCall("Mac", logger, (request, context) => {
      const session = kit.authenticate(context);
      context.log.keyHandle = request.keyHandle;
      return { mac: cluster.mac(session, validateMac(request)) };
    }),

    verifyMac: unaryCall("VerifyMac", logger, (request, context) => {
      const session = kit.authenticate(context);
      context.log.keyHandle = request.keyHandle;
      cluster.verifyMac(session, validateVerifyMac(request));
      return {};
    }),
  };
}
