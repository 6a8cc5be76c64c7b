// Firmware attestation: each node has its own Ed25519 key and a firmware measurement, and signs what it attests.
import { createHash, createPrivateKey, createPublicKey, hkdfSync, KeyObject, sign } from "node:crypto";
import { HsmError } from "./errors";

/** SHA-256 of the emulated genuine firmware; a tampered node reports something else. */
export const GENUINE_FIRMWARE_MEASUREMENT = createHash("sha256").update("local-cloudhsm emulated HSM firmware v1").digest();
const TAMPERED_FIRMWARE_MEASUREMENT = createHash("sha256").update("local-cloudhsm emulated HSM firmware v1 (modified)").digest();

/** PKCS#8 prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export const MIN_NONCE_BYTES = 16;
export const MAX_NONCE_BYTES = 64;

/** What a node states when it attests. */
export interface AttestationStatement {
  readonly nodeId: number;
  readonly firmwareMeasurement: Buffer;
  readonly nonce: Buffer;
  readonly keyHandle: number;
  readonly atMs: number;
}

/**
 * The nodes' attestation identities. Keys are derived from a seed (the composition root derives
 * it from the master key), so they stay the same across restarts and can be pinned.
 */
export class NodeAttestors {
  private readonly keys: { privateKey: KeyObject; publicKeyDer: Buffer }[];
  private readonly tampered: boolean[];

  constructor(seed: Buffer, nodeCount: number) {
    this.keys = Array.from({ length: nodeCount }, (_, nodeId) => {
      const nodeSeed = Buffer.from(hkdfSync("sha256", seed, Buffer.alloc(0), `local-cloudhsm attestation node ${nodeId}`, 32));
      const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, nodeSeed]), format: "der", type: "pkcs8" });
      const publicKeyDer = createPublicKey(privateKey).export({ format: "der", type: "spki" });
      return { privateKey, publicKeyDer };
    });
    this.tampered = new Array<boolean>(nodeCount).fill(false);
  }

  publicKeyDer(nodeId: number): Buffer {
    return this.node(nodeId).publicKeyDer;
  }

  measurement(nodeId: number): Buffer {
    this.node(nodeId);
    return this.tampered[nodeId] ? TAMPERED_FIRMWARE_MEASUREMENT : GENUINE_FIRMWARE_MEASUREMENT;
  }

  isTampered(nodeId: number): boolean {
    return this.tampered[nodeId] === true;
  }

  setTampered(nodeId: number, tampered: boolean): boolean {
    this.node(nodeId);
    if (this.tampered[nodeId] === tampered) return false;
    this.tampered[nodeId] = tampered;
    return true;
  }

  statement(nodeId: number, nonce: Buffer, keyHandle: number, atMs: number): AttestationStatement {
    if (nonce.length < MIN_NONCE_BYTES || nonce.length > MAX_NONCE_BYTES) {
      throw new HsmError("REQUEST_INVALID", `attest_nonce is ${MIN_NONCE_BYTES} to ${MAX_NONCE_BYTES} bytes`, {
        field: "attest_nonce",
        length: nonce.length,
      });
    }
    return { nodeId, firmwareMeasurement: this.measurement(nodeId), nonce: Buffer.from(nonce), keyHandle, atMs };
  }

  /** The node's Ed25519 signature over an encoded statement. */
  sign(nodeId: number, document: Buffer): Buffer {
    return sign(null, document, this.node(nodeId).privateKey);
  }

  private node(nodeId: number): { privateKey: KeyObject; publicKeyDer: Buffer } {
    const key = this.keys[nodeId];
    if (!key) throw new HsmError("NODE_NOT_FOUND", `there is no node ${nodeId}`, { node_id: nodeId });
    return key;
  }
}
