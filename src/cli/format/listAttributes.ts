// Console output of listAttributes: the attribute constants getAttribute and setAttribute take, in KMU's documented order.
import { transcript } from "./transcript";

/**
 * The documented list (key_mgmt_util-listAttributes.md), in its order: the attributes KMU users get and set.
 * getAttribute answers more (512 dumps them all); this is the list KMU prints.
 */
export const LISTED_ATTRIBUTES: readonly (readonly [name: string, id: number])[] = [
  ["OBJ_ATTR_CLASS", 0],
  ["OBJ_ATTR_TOKEN", 1],
  ["OBJ_ATTR_PRIVATE", 2],
  ["OBJ_ATTR_LABEL", 3],
  ["OBJ_ATTR_KEY_TYPE", 256],
  ["OBJ_ATTR_ENCRYPT", 260],
  ["OBJ_ATTR_DECRYPT", 261],
  ["OBJ_ATTR_WRAP", 262],
  ["OBJ_ATTR_UNWRAP", 263],
  ["OBJ_ATTR_SIGN", 264],
  ["OBJ_ATTR_VERIFY", 266],
  ["OBJ_ATTR_LOCAL", 355],
  ["OBJ_ATTR_MODULUS", 288],
  ["OBJ_ATTR_MODULUS_BITS", 289],
  ["OBJ_ATTR_PUBLIC_EXPONENT", 290],
  ["OBJ_ATTR_VALUE_LEN", 353],
  ["OBJ_ATTR_EXTRACTABLE", 354],
  ["OBJ_ATTR_KCV", 371],
];

/** A heading line, a blank line, then `      NAME<padded to 32>= id` per attribute (6-space indent, as documented). */
export function formatListAttributes(): string {
  return transcript(
    [["Following are the possible attribute values for getAttributes:"], LISTED_ATTRIBUTES.map(([name, id]) => `      ${name.padEnd(32)}= ${id}`)],
    true,
  );
}
