// Keys derived from the master key with HKDF-SHA256, one per purpose, so no key serves two jobs.
import { hkdfSync } from "node:crypto";

/**
 * What a derived key is for; each purpose is its own HKDF info string. The master key itself seals
 * key material (AES-256-GCM); a derived key never equals it or another purpose's key.
 */
export type DerivedKeyPurpose = "audit chain" | "row mac";

export function deriveKey(masterKey: Buffer, purpose: DerivedKeyPurpose): Buffer {
  return Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), `local-cloudhsm ${purpose}`, 32));
}
