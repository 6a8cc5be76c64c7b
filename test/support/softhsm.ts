// SoftHSM2 through graphene-pk11, as a real PKCS#11 peer: open the "jest" token made by globalSetup, create,
// wrap and unwrap secret keys, and let the token compute key check values itself.
import * as graphene from "graphene-pk11";
import * as softhsmEnv from "./softhsmEnv";

/** Why SoftHSM2 tests cannot run here, or undefined when the token exists. */
export function softhsmUnavailable(): string | undefined {
  if (process.env[softhsmEnv.ENV_SKIP]) return process.env[softhsmEnv.ENV_SKIP];
  if (!process.env[softhsmEnv.ENV_LIBRARY] || !process.env.SOFTHSM2_CONF) return "globalSetup did not create a SoftHSM2 token";
  return undefined;
}

/** A logged-in read-write session on the token; close() logs out, closes it and finalizes the module. */
export interface SoftHsm {
  readonly module: graphene.Module;
  readonly slot: graphene.Slot;
  readonly session: graphene.Session;
  close(): void;
}

/**
 * Opens the token by its label: SoftHSM2 moves an initialised token to a random slot id and always lists one
 * more, uninitialised token, so neither "slot 0" nor "the first slot with a token" is right.
 */
export function openSoftHsm(): SoftHsm {
  const library = process.env[softhsmEnv.ENV_LIBRARY];
  if (!library) throw new Error("SoftHSM2 is not available: " + softhsmUnavailable());
  const module = graphene.Module.load(library, "SoftHSM2");
  module.initialize();
  try {
    const slots = module.getSlots(true);
    let slot: graphene.Slot | undefined;
    for (let i = 0; i < slots.length; i++) {
      const candidate = slots.items(i);
      if (candidate.getToken().flags & graphene.TokenFlag.TOKEN_INITIALIZED && candidate.getToken().label.trim() === softhsmEnv.TOKEN_LABEL) {
        slot = candidate;
      }
    }
    if (!slot) throw new Error(`no SoftHSM2 token labelled "${softhsmEnv.TOKEN_LABEL}" (SOFTHSM2_CONF=${process.env.SOFTHSM2_CONF})`);
    const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    session.login(softhsmEnv.USER_PIN, graphene.UserType.USER);
    const found = slot;
    return {
      module,
      slot: found,
      session,
      close() {
        try {
          session.logout();
          session.close();
        } finally {
          module.finalize();
        }
      },
    };
  } catch (err) {
    module.finalize();
    throw err;
  }
}

/**
 * C_CreateObject of a CKO_SECRET_KEY holding `value`. Session object (CKA_TOKEN false), extractable;
 * `template` overrides the defaults (e.g. sensitive: false to read CKA_VALUE back).
 */
export function createSecretKey(session: graphene.Session, keyType: graphene.KeyType, value: Buffer, template: graphene.ITemplate = {}): graphene.SecretKey {
  return session
    .create({ class: graphene.ObjectClass.SECRET_KEY, keyType, value, token: false, private: true, sensitive: true, extractable: true, ...template })
    .toType<graphene.SecretKey>();
}

/** Template of a key that C_UnwrapKey creates: a session object whose value the test may read. */
export function unwrapTemplate(keyType: graphene.KeyType, template: graphene.ITemplate = {}): graphene.ITemplate {
  return { class: graphene.ObjectClass.SECRET_KEY, keyType, token: false, private: true, sensitive: false, extractable: true, ...template };
}

/** CKA_CHECK_VALUE as lowercase hex ("" when the token stored none). */
export function checkValue(key: graphene.SessionObject): string {
  const value = key.getAttribute({ checkValue: null }).checkValue;
  return value ? value.toString("hex") : "";
}

/** CKA_VALUE of a non-sensitive key. */
export function keyValue(key: graphene.SessionObject): Buffer {
  const value = key.getAttribute({ value: null }).value;
  if (!value) throw new Error("the token returned no CKA_VALUE");
  return value;
}

/**
 * The key check value as the token computes it with the key itself (which may be sensitive): C_Encrypt of one
 * zero block with CKM_AES_ECB or CKM_DES3_ECB, first 3 bytes. The key needs CKA_ENCRYPT.
 */
export function kcvByEncryption(session: graphene.Session, key: graphene.Key, keyType: graphene.KeyType): string {
  if (keyType !== graphene.KeyType.AES && keyType !== graphene.KeyType.DES3) throw new RangeError(`no KCV by encryption for key type ${keyType}`);
  const block = keyType === graphene.KeyType.AES ? 16 : 8;
  const cipher = session.createCipher(keyType === graphene.KeyType.AES ? "AES_ECB" : "DES3_ECB", key);
  return cipher.once(Buffer.alloc(block), Buffer.alloc(block)).subarray(0, 3).toString("hex");
}

/** PKCS#11 mechanism numbers that pkcs11js 2.1.7 / graphene-pk11 2.3.6 have no name for. */
export const CKM_AES_KEY_WRAP_KWP = 0x210b;
