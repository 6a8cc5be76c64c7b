// The digests the HSM names (HMAC, and OAEP and signatures elsewhere), with node:crypto's names and output lengths.

export type HashAlgorithm = "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512";

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"];

/** A digest as node:crypto names it (signatures and OAEP take these). */
export type NodeHashName = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

/** node:crypto's name for each digest. */
export const NODE_HASH_NAME: Readonly<Record<HashAlgorithm, NodeHashName>> = {
  SHA1: "sha1",
  SHA224: "sha224",
  SHA256: "sha256",
  SHA384: "sha384",
  SHA512: "sha512",
};

/** Output length in bytes of each digest by node:crypto's name. */
export const NODE_DIGEST_LENGTH: Readonly<Record<NodeHashName, number>> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/** Output length in bytes, which is also the length of a full HMAC. */
export const DIGEST_LENGTH: Readonly<Record<HashAlgorithm, number>> = {
  SHA1: 20,
  SHA224: 28,
  SHA256: 32,
  SHA384: 48,
  SHA512: 64,
};
