// HsmService handlers for asymmetric keys: GenerateKeyPair, Sign, Verify, and public/private key import and export.
import { RETURN_CODES } from "../../common/returnCodes";
import { unaryCall } from "./callAdapter";
import { attestations, creationResponse, HandlerKit, HsmServiceHandlers, keyCreationCall } from "./handlerKit";
import {
  validateExportPrivateKey,
  validateGenerateKeyPair,
  validateImportPrivateKey,
  validateImportPublicKey,
  validateSign,
  validateVerify,
} from "./keyPairValidation";
import { attestNonce } from "./requestValidation";
import { toNodeStatuses, toSteps } from "./responseMapping";

type KeyPairMethods =
  | "generateKeyPair"
  | "sign"
  | "verify"
  | "importPublicKey"
  | "importPrivateKey"
  | "exportPublicKey"
  | "exportPrivateKey";

const OK = RETURN_CODES.SUCCESS.code;

export function keyPairHandlers(kit: HandlerKit): Pick<HsmServiceHandlers, KeyPairMethods> {
  const { cluster, logger, authenticate } = kit;
  return {
    generateKeyPair: unaryCall("GenerateKeyPair", logger, async (request, context) => {
      const session = authenticate(context);
      const params = validateGenerateKeyPair(request);
      const nonce = attestNonce(request);
      const pair = await cluster.generateKeyPair(session, params, context.signal);
      context.log.keyHandle = pair.privateHandle;
      return {
        publicKeyHandle: pair.publicHandle,
        privateKeyHandle: pair.privateHandle,
        steps: toSteps(pair.steps),
        nodeStatuses: toNodeStatuses(pair.nodes),
        revision: String(pair.revision),
        attestations: attestations(cluster, session, pair.privateHandle, nonce),
      };
    }),

    sign: unaryCall("Sign", logger, async (request, context) => {
      const session = authenticate(context);
      const params = validateSign(request);
      context.log.keyHandle = params.handle;
      return { signature: await cluster.sign(session, params) };
    }),

    verify: unaryCall("Verify", logger, async (request, context) => {
      const session = authenticate(context);
      const params = validateVerify(request);
      context.log.keyHandle = params.handle;
      await cluster.verify(session, params);
      return {};
    }),

    importPublicKey: unaryCall("ImportPublicKey", logger, async (request, context) => {
      const session = authenticate(context);
      const params = validateImportPublicKey(request);
      const created = await cluster.importPublicKey(session, params, context.signal);
      context.log.keyHandle = created.handle;
      const { keyHandle, steps, nodeStatuses, revision } = creationResponse(created);
      return { keyHandle, steps, nodeStatuses, revision };
    }),

    importPrivateKey: keyCreationCall(kit, "ImportPrivateKey", validateImportPrivateKey, (session, params, signal) => cluster.importPrivateKey(session, params, signal)),

    exportPublicKey: unaryCall("ExportPublicKey", logger, (request, context) => {
      const session = authenticate(context);
      context.log.keyHandle = request.keyHandle;
      const pem = cluster.exportPublicKey(session, request.keyHandle);
      return { pem, steps: toSteps([{ name: "Cfm3ExportPubKey", returnCode: OK }]) };
    }),

    exportPrivateKey: unaryCall("ExportPrivateKey", logger, (request, context) => {
      const session = authenticate(context);
      const { handle, wrappingHandle } = validateExportPrivateKey(request);
      context.log.keyHandle = handle;
      const wrappedKey = cluster.exportPrivateKey(session, handle, wrappingHandle);
      return { wrappedKey, steps: toSteps([{ name: "Cfm3WrapKey", returnCode: OK }]) };
    }),
  };
}
