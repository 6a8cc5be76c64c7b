// The documented order of a secret key's getAttribute 512 dump (AWS key_mgmt_util docs), written once as the tests' oracle.

export const DOCUMENTED_DUMP_ORDER: readonly string[] = [
  "OBJ_ATTR_CLASS",
  "OBJ_ATTR_KEY_TYPE",
  "OBJ_ATTR_TOKEN",
  "OBJ_ATTR_PRIVATE",
  "OBJ_ATTR_ENCRYPT",
  "OBJ_ATTR_DECRYPT",
  "OBJ_ATTR_WRAP",
  "OBJ_ATTR_UNWRAP",
  "OBJ_ATTR_SIGN",
  "OBJ_ATTR_VERIFY",
  "OBJ_ATTR_LOCAL",
  "OBJ_ATTR_SENSITIVE",
  "OBJ_ATTR_EXTRACTABLE",
  "OBJ_ATTR_LABEL",
  "OBJ_ATTR_ID",
  "OBJ_ATTR_VALUE_LEN",
  "OBJ_ATTR_KCV",
];
