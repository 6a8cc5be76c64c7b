// The KMU attribute table: one rule per attribute id, each with its source, its value and its text form.
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
const absent = (): undefined => undefined;

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
  // RSA-only attributes: "does not exist" for symmetric keys, which is an error per the getAttribute page.
  [288, { name: "OBJ_ATTR_MODULUS", source: `${ATTR_TABLE_DOC}; RSA only`, read: absent }],
  [289, { name: "OBJ_ATTR_MODULUS_BITS", source: `${ATTR_TABLE_DOC}; RSA only`, read: absent }],
  [290, { name: "OBJ_ATTR_PUBLIC_EXPONENT", source: `${ATTR_TABLE_DOC}; RSA only`, read: absent }],
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
      source: `${ATTR_TABLE_DOC}; absent for generic secrets ("not supported" for HMAC keys)`,
      read: (k) => (k.kcv ? { kind: "bytes", value: k.kcv } : undefined),
    },
  ],
  [528, { name: "OBJ_ATTR_WRAP_WITH_TRUSTED", source: ATTR_TABLE_DOC, read: (k) => bool(k.flags.wrapWithTrusted) }],
]);

/** The pseudo attribute id that asks for every attribute. */
export const ALL_ATTRIBUTES = 512;

/** The documented order of a secret key's 512 dump (the 17 attributes of the genSymKey/getAttribute examples). */
export const DUMP_ORDER: readonly number[] = [0, 256, 1, 2, 260, 261, 262, 263, 264, 266, 355, 259, 354, 3, 258, 353, 371];

/** Attributes whose dump text keeps 8 hex digits: lengths, not flags or enums. */
const WIDE_IN_DUMP: ReadonlySet<number> = new Set([353, 289]);

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
    case "bytes":
      return `0x${data.value.toString("hex")}`;
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
    return DUMP_ORDER.map((id) => reading(key, id, true)).filter((r): r is AttributeReading => r !== undefined);
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
