// The SoftHSM2 peer rows: the bench's own private keys created in a SoftHSM2 token (C_CreateObject) and C_SignInit + C_Sign per call, through graphene-pk11.
import { KeyObject } from "node:crypto";
import * as graphene from "graphene-pk11";
import { CryptoMaterial, CryptoOp, signingKey, signMessage } from "./cryptoMaterial";
import { checkSignature, CryptoImplementation, signMessageDigest } from "./nodeCryptoOps";

/** Where the token is: made by softhsmToken.ts in the parent, reached through SOFTHSM2_CONF in this process's environment. */
export interface SoftHsmTokenRef {
  readonly library: string;
  readonly label: string;
  readonly userPin: string;
}

/** DER of the P-256 OID (1.2.840.10045.3.1.7), the CKA_EC_PARAMS of a P-256 key. */
export const P256_EC_PARAMS = Buffer.from("06082a8648ce3d030107", "hex");

const b64url = (text: string | undefined, name: string): Buffer => {
  if (text === undefined) throw new Error(`the key has no JWK member ${name}`);
  return Buffer.from(text, "base64url");
};

/**
 * The PKCS#11 template of a session private key object holding exactly this node:crypto key (RSA with its CRT
 * values, or EC P-256), allowed to sign and nothing else.
 */
export function privateKeyTemplate(key: KeyObject): graphene.ITemplate {
  const jwk = key.export({ format: "jwk" });
  const common: graphene.ITemplate = { class: graphene.ObjectClass.PRIVATE_KEY, token: false, private: true, sensitive: true, extractable: false, sign: true };
  if (jwk.kty === "RSA") {
    return {
      ...common,
      keyType: graphene.KeyType.RSA,
      modulus: b64url(jwk.n, "n"),
      publicExponent: b64url(jwk.e, "e"),
      privateExponent: b64url(jwk.d, "d"),
      prime1: b64url(jwk.p, "p"),
      prime2: b64url(jwk.q, "q"),
      exp1: b64url(jwk.dp, "dp"),
      exp2: b64url(jwk.dq, "dq"),
      coefficient: b64url(jwk.qi, "qi"),
    };
  }
  if (jwk.kty === "EC" && jwk.crv === "P-256") return { ...common, keyType: graphene.KeyType.EC, paramsEC: P256_EC_PARAMS, value: b64url(jwk.d, "d") };
  throw new RangeError(`no PKCS#11 template for a ${jwk.kty} ${jwk.crv ?? ""} key`);
}

/**
 * Opens the token, logs in and creates the operation's private key. The call is what an application does per
 * signature: C_SignInit then C_Sign. RSA uses CKM_SHA256_RSA_PKCS over the message. SoftHSM2 2.6 has no
 * CKM_ECDSA_SHA256, so ECDSA hashes the message with node:crypto (inside the measured call) and signs the
 * digest with CKM_ECDSA; its raw r||s signature is checked as IEEE P1363.
 */
export function softhsmImplementation(op: Exclude<CryptoOp, "aesGcmEncrypt">, material: CryptoMaterial, token: SoftHsmTokenRef): CryptoImplementation {
  const module = graphene.Module.load(token.library, "SoftHSM2");
  module.initialize();
  let session: graphene.Session | undefined;
  try {
    const slot = findSlot(module, token.label);
    const opened = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    session = opened;
    opened.login(token.userPin, graphene.UserType.USER);
    const key = opened.create(privateKeyTemplate(signingKey(material, op))).toType<graphene.PrivateKey>();
    const message = signMessage();
    const once = op === "rsaSign" ? () => opened.createSign("SHA256_RSA_PKCS", key).once(message) : () => opened.createSign("ECDSA", key).once(signMessageDigest());
    return {
      call: () => void once(),
      selfCheck: () => checkSignature(material, op, once(), "ieee-p1363"),
      close: () => closeAll(module, opened),
    };
  } catch (err) {
    closeAll(module, session);
    throw err;
  }
}

/** SoftHSM2 moves an initialised token to a random slot id and lists one more empty slot: find it by label. */
function findSlot(module: graphene.Module, label: string): graphene.Slot {
  const slots = module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    const info = slot.getToken();
    if (info.flags & graphene.TokenFlag.TOKEN_INITIALIZED && info.label.trim() === label) return slot;
  }
  throw new Error(`no SoftHSM2 token labelled "${label}" (SOFTHSM2_CONF=${process.env.SOFTHSM2_CONF ?? "unset"})`);
}

function closeAll(module: graphene.Module, session: graphene.Session | undefined): void {
  try {
    if (session) {
      try {
        session.logout();
      } catch {
        // Not logged in (the login itself failed): closing the session is all that is left.
      }
      session.close();
    }
  } finally {
    module.finalize();
  }
}
