// findKey -m: reads an RSA modulus from a file, as raw bytes or as hex text (openssl's "Modulus=..." or getAttribute's dump).
import { readKeyFile } from "./keyFiles";

/**
 * KMU does not document the file's format. Hex text is accepted in the forms a user has at hand:
 * `openssl rsa -pubin -modulus -noout` ("Modulus=C0FFEE..."), getAttribute -a 288's file (the name line, then hex
 * over several lines), or bare hex; anything else is taken as the modulus's raw big-endian bytes. Leading zero
 * bytes are dropped, as the daemon compares the modulus without them.
 */
export function parseModulus(content: Buffer): Buffer {
  const text = content.toString("latin1").replace(/^OBJ_ATTR_MODULUS\s*\n/, "").replace(/^Modulus=/, "");
  const hex = text.replace(/\s+/g, "");
  const bytes = hex.length > 0 && hex.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(hex) ? Buffer.from(hex, "hex") : content;
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

export async function readModulusFile(path: string): Promise<Buffer> {
  return parseModulus(await readKeyFile("-m", path));
}
