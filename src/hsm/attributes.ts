// The KMU attribute table: one rule per attribute id, each with its source, its value and its text form.
import { PublicFacts, publicFacts } from "./crypto/asymmetricKeys";
import { HsmError } from "./errors";
import { KeyObject } from "./key";

/** A typed attribute value. */
export type AttributeData =
  | { kind: "bool"; value: boolean }
  | { kind: "uint"; value: number }
  | { kind: "text"; value: string }
  | { kind: "bytes"; value: Buffer };

/** One attribute of one key, with the KMU text the -out file holds. */
export interface AttributeReading {
  readonly id: number;
  readonly name: string;
  readonly data: AttributeData;
  readonly text: string;
}

interface AttributeRule {
  readonly name: string;
  /** Where the id and semantics come from. */
  readonly source: string;
  /** The key's value, or undefined when the key type lacks the attribute. */
  read(key: KeyObject): AttributeData | undefined;
}

const ATTR_TABLE_DOC = "AWS key-attribute-table / KMU listAttributes";
const PKCS11 = "PKCS#11 v2.40 section 4 (CKA_* of the same number)";

const bool = (value: boolean): AttributeData => ({ kind: "bool", value });
const uint = (value: number): AttributeData => ({ kind: "uint", value });
const text = (value: string): AttributeData => ({ kind: "text", value });
const bytes = (value: Buffer): AttributeData => ({ kind: "bytes", value });

/** The public facts of an RSA or EC key; undefined for secret keys. */
function factsOf(key: KeyObject): PublicFacts | undefined {
  return publicFacts(key.keyClass, key.material);
}

function rsaFacts(key: KeyObject): Extract<PublicFacts, { kind: "rsa" }> | undefined {
  const facts = factsOf(key);
  return facts?.kind === "rsa" ? facts : undefined;
}

function ecFacts(key: KeyObject): Extract<PublicFacts, { kind: "ec" }> | undefined {
  const facts = factsOf(key);
  return facts?.kind === "ec" ? facts : undefined;
}

/** Every attribute id KMU knows, keyed by id. */
export const ATTRIBUTE_RULES: ReadonlyMap<number, AttributeRule> = new Map<number, AttributeRule>([
  [0, { name: "OBJ_ATTR_CLASS", source: ATTR_TABLE_DOC, read: (k) => uint(k.keyClass) }],
  [1, { name: "OBJ_ATTR_TOKEN", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.token) }],
  [2, { name: "OBJ_ATTR_PRIVATE", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.private) }],
  [3, { name: "OBJ_ATTR_LABEL", source: ATTR_TABLE_DOC, read: (k) => text(k.label) }],
  [134, { name: "OBJ_ATTR_TRUSTED", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.trusted) }],
  [256, { name: "OBJ_ATTR_KEY_TYPE", source: ATTR_TABLE_DOC, read: (k) => uint(k.keyType) }],
  [258, { name: "OBJ_ATTR_ID", source: ATTR_TABLE_DOC, read: (k) => text(k.id) }],
  [259, { name: "OBJ_ATTR_SENSITIVE", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.sensitive) }],
  [260, { name: "OBJ_ATTR_ENCRYPT", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.encrypt) }],
  [261, { name: "OBJ_ATTR_DECRYPT", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.decrypt) }],
  [262, { name: "OBJ_ATTR_WRAP", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.wrap) }],
  [263, { name: "OBJ_ATTR_UNWRAP", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.unwrap) }],
  [264, { name: "OBJ_ATTR_SIGN", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.sign) }],
  [266, { name: "OBJ_ATTR_VERIFY", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.verify) }],
  [268, { name: "OBJ_ATTR_DERIVE", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.derive) }],
  // RSA-only attributes (both halves of a pair): "does not exist" for other keys, which is an error per the getAttribute page.
  [288, { name: "OBJ_ATTR_MODULUS", source: `${ATTR_TABLE_DOC}; RSA only`, read: (k) => ifDefined(rsaFacts(k)?.modulus, bytes) }],
  [289, { name: "OBJ_ATTR_MODULUS_BITS", source: `${ATTR_TABLE_DOC}; RSA only`, read: (k) => ifDefined(rsaFacts(k)?.modulusBits, uint) }],
  [290, { name: "OBJ_ATTR_PUBLIC_EXPONENT", source: `${ATTR_TABLE_DOC}; RSA only`, read: (k) => ifDefined(rsaFacts(k)?.publicExponent, bytes) }],
  // EC keys: the PKCS#11 CKA_EC_PARAMS / CKA_EC_POINT of the same numbers (KMU's listAttributes does not name them).
  [384, { name: "OBJ_ATTR_EC_PARAMS", source: `${PKCS11}; EC only, DER OID of the curve`, read: (k) => ifDefined(ecFacts(k)?.ecParams, bytes) }],
  [385, { name: "OBJ_ATTR_EC_POINT", source: `${PKCS11}; EC only, DER OCTET STRING of the uncompressed point`, read: (k) => ifDefined(ecFacts(k)?.ecPoint, bytes) }],
  [353, { name: "OBJ_ATTR_VALUE_LEN", source: `${ATTR_TABLE_DOC}; length in bytes`, read: (k) => uint(k.valueLen) }],
  [354, { name: "OBJ_ATTR_EXTRACTABLE", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.extractable) }],
  [355, { name: "OBJ_ATTR_LOCAL", source: `${ATTR_TABLE_DOC}; 0 for imSymKey`, read: (k) => bool(k.flags.local) }],
  [356, { name: "OBJ_ATTR_NEVER_EXTRACTABLE", source: PKCS11, read: (k) => bool(k.flags.neverExtractable) }],
  [357, { name: "OBJ_ATTR_ALWAYS_SENSITIVE", source: PKCS11, read: (k) => bool(k.flags.alwaysSensitive) }],
  [370, { name: "OBJ_ATTR_DESTROYABLE", source: PKCS11, read: (k) => bool(k.flags.destroyable) }],
  [
    371,
    {
      name: "OBJ_ATTR_KCV",
      source: `${ATTR_TABLE_DOC}; absent for generic secrets ("not supported" for HMAC keys); key pairs: SHA-1 of the public key`,
      read: (k) => (k.kcv ? { kind: "bytes", value: k.kcv } : undefined),
    },
  ],
  [528, { name: "OBJ_ATTR_WRAP_WITH_TRUSTED", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.wrapWithTrusted) }],
]);

/** The pseudo attribute id that asks for every attribute. */
export const ALL_ATTRIBUTES = 512;

/** The documented order of a secret key's 512 dump (the 17 attributes of the genSymKey/getAttribute examples). */
export const DUMP_ORDER: readonly number[] = [0, 256, 1, 2, 260, 261, 262, 263, 264, 266, 355, 259, 354, 3, 258, 353, 371];

/** An RSA key's dump adds the modulus, its length and the exponent (genRSAKeyPair example, 20 attributes). */
export const RSA_DUMP_ORDER: readonly number[] = [...DUMP_ORDER, 288, 289, 290];

/** An EC key's dump adds the curve and the point (emulator choice: PKCS#11's attributes, see the README). */
export const EC_DUMP_ORDER: readonly number[] = [...DUMP_ORDER, 384, 385];

/** The 512 dump order for a key. */
export function dumpOrder(key: KeyObject): readonly number[] {
  const facts = factsOf(key);
  if (!facts) return DUMP_ORDER;
  return facts.kind === "rsa" ? RSA_DUMP_ORDER : EC_DUMP_ORDER;
}

function ifDefined<T>(value: T | undefined, make: (v: T) => AttributeData): AttributeData | undefined {
  return value === undefined ? undefined : make(value);
}

/** Attributes whose dump text keeps 8 hex digits: lengths, not flags or enums. */
const WIDE_IN_DUMP: ReadonlySet<number> = new Set([353, 289]);

/** Attributes printed as bare hex wrapped at 80 columns, as the genRSAKeyPair dump shows the modulus. */
const HEX_BLOCK: ReadonlySet<number> = new Set([288]);
const HEX_BLOCK_WIDTH = 80;

function hex(value: number, digits: number): string {
  return `0x${value.toString(16).padStart(digits, "0")}`;
}

/** The KMU -out file text of one value: 8 hex digits alone, 2 in a 512 dump (except lengths). */
export function attributeText(id: number, data: AttributeData, inDump: boolean): string {
  const digits = inDump && !WIDE_IN_DUMP.has(id) ? 2 : 8;
  switch (data.kind) {
    case "bool":
      return hex(data.value ? 1 : 0, digits);
    case "uint":
      return hex(data.value, digits);
    case "text":
      return data.value;
    case "bytes": {
      const hexText = data.value.toString("hex");
      if (!HEX_BLOCK.has(id)) return `0x${hexText}`;
      return hexText.match(new RegExp(`.{1,${HEX_BLOCK_WIDTH}}`, "g"))?.join("\n") ?? "";
    }
  }
}

function reading(key: KeyObject, id: number, inDump: boolean): AttributeReading | undefined {
  const rule = ATTRIBUTE_RULES.get(id);
  if (!rule) throw new HsmError("ATTRIBUTE_UNKNOWN", `attribute ${id} is not a KMU attribute`, { attribute_id: id });
  const data = rule.read(key);
  if (!data) return undefined;
  return { id, name: rule.name, data, text: attributeText(id, data, inDump) };
}

/** The attributes getAttribute returns for `attributeId` (512 = all, in the documented order). */
export function readAttributes(key: KeyObject, attributeId: number): AttributeReading[] {
  if (attributeId === ALL_ATTRIBUTES) {
    return dumpOrder(key).map((id) => reading(key, id, true)).filter((r): r is AttributeReading => r !== undefined);
  }
  const one = reading(key, attributeId, false);
  if (!one) {
    throw new HsmError("ATTRIBUTE_NOT_PRESENT", `attribute ${attributeId} does not exist for key type ${key.keyType}`, {
      attribute_id: attributeId,
      key_type: key.keyType,
      key_handle: key.handle,
    });
  }
  return [one];
}

/** The -out file content: for each attribute a NAME line and a VALUE line. */
export function attributeFileText(readings: readonly AttributeReading[]): string {
  return readings.map((r) => `${r.name}\n${r.text}\n`).join("");
}
