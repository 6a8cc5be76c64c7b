// Rules for key labels and ids: UTF-8 text of bounded length, no control characters.
import { HsmError } from "./errors";

/** The CloudHSM CLI allows 127-character labels (SDK 5.11+); KMU documents no limit. */
export const LABEL_MAX_CHARACTERS = 127;
/** CKA_ID holds at most 128 bytes in CloudHSM's PKCS#11 library. */
export const ID_MAX_BYTES = 128;

// U+FFFD is what a protobuf decoder leaves for bytes that were not valid UTF-8.
// eslint-disable-next-line no-control-regex -- finding control characters is this pattern's job
const NOT_CLEAN_TEXT = /[\u0000-\u001f\u007f-\u009f\uFFFD]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

export function checkLabel(label: string): void {
  const characters = [...label].length;
  if (characters === 0 || characters > LABEL_MAX_CHARACTERS || NOT_CLEAN_TEXT.test(label)) {
    throw new HsmError("LABEL_INVALID", `labels are 1 to ${LABEL_MAX_CHARACTERS} UTF-8 characters without control characters`, {
      length: characters,
      max_length: LABEL_MAX_CHARACTERS,
    });
  }
}

/** Ids may be empty (the default); a non-empty id is unique across the cluster. */
export function checkKeyId(id: string): void {
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes > ID_MAX_BYTES || NOT_CLEAN_TEXT.test(id)) {
    throw new HsmError("ID_INVALID", `key ids are at most ${ID_MAX_BYTES} UTF-8 bytes without control characters`, {
      length_bytes: bytes,
      max_length_bytes: ID_MAX_BYTES,
    });
  }
}
