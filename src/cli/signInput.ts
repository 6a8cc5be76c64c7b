// What sign and verify send for a file: the file itself up to the HSM's data limit, above it the file's digest made here.
import { createHash } from "node:crypto";
import { HashAlgorithm } from "../../clients/generated/localcloudhsm/v1/hsm_service";

/** The most message bytes Sign and Verify take (the proto's limit); bigger files are hashed on the host. */
export const SIGN_DATA_MAX_BYTES = 65536;

const NODE_HASH: Record<HashAlgorithm, string | undefined> = {
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: undefined,
  [HashAlgorithm.HASH_ALGORITHM_SHA1]: "sha1",
  [HashAlgorithm.HASH_ALGORITHM_SHA224]: "sha224",
  [HashAlgorithm.HASH_ALGORITHM_SHA256]: "sha256",
  [HashAlgorithm.HASH_ALGORITHM_SHA384]: "sha384",
  [HashAlgorithm.HASH_ALGORITHM_SHA512]: "sha512",
  [HashAlgorithm.UNRECOGNIZED]: undefined,
};

/**
 * The same signature either way: the HSM hashes the data it is sent with `hash`, or signs the digest made here
 * with the same hash. Hashing on the host is what lets a file of any size be signed within the message limit.
 */
export function signInput(file: Buffer, hash: HashAlgorithm): { input: Buffer; prehashed: boolean } {
  const name = NODE_HASH[hash];
  if (file.length <= SIGN_DATA_MAX_BYTES || name === undefined) return { input: file, prehashed: false };
  return { input: createHash(name).update(file).digest(), prehashed: true };
}
