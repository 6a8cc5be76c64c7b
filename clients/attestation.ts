// Verifies -attest documents: each node's Ed25519 signature, the genuine firmware measurement, the nonce and the key.
import { createPublicKey, verify } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { Attestation, AttestationDocument, NodeAttestationKey } from "./generated/localcloudhsm/v1/hsm_service";

/** The outcome of an attestation check: PASS only if every node's document verifies. */
export interface AttestationVerdict {
  readonly pass: boolean;
  /** One line per problem, naming the node; empty on PASS. */
  readonly problems: readonly string[];
}

/** Checks each document against the pinned or fetched keys; any problem fails the whole check. */
export function verifyAttestations(
  attestations: readonly Attestation[],
  keys: readonly NodeAttestationKey[],
  expected: { nonce: Buffer; keyHandle: number },
): AttestationVerdict {
  const problems: string[] = [];
  if (attestations.length === 0) problems.push("no attestation documents were returned");
  for (const attestation of attestations) {
    const key = keys.find((k) => k.nodeId === attestation.nodeId);
    if (!key) {
      problems.push(`node ${attestation.nodeId}: no attestation key known for this node`);
      continue;
    }
    const signed = verify(null, attestation.document, createPublicKey({ key: Buffer.from(key.publicKey), format: "der", type: "spki" }), attestation.signature);
    if (!signed) {
      problems.push(`node ${attestation.nodeId}: the signature does not verify`);
      continue;
    }
    const doc = AttestationDocument.decode(attestation.document);
    if (doc.nodeId !== attestation.nodeId) problems.push(`node ${attestation.nodeId}: the document names node ${doc.nodeId}`);
    if (!Buffer.from(doc.firmwareMeasurement).equals(Buffer.from(key.expectedFirmwareMeasurement))) {
      problems.push(`node ${attestation.nodeId}: the firmware measurement is not the genuine one`);
    }
    if (!Buffer.from(doc.nonce).equals(expected.nonce)) problems.push(`node ${attestation.nodeId}: the nonce does not match`);
    if (doc.keyHandle !== expected.keyHandle) problems.push(`node ${attestation.nodeId}: the document is for key ${doc.keyHandle}`);
  }
  return { pass: problems.length === 0, problems };
}

interface PinnedKeyJson {
  node_id: number;
  public_key: string;
  expected_firmware_measurement: string;
}

/** Writes the cluster's attestation keys to a JSON file, to pin them like a customer CA. */
export function savePinnedKeys(path: string, keys: readonly NodeAttestationKey[]): void {
  const json: PinnedKeyJson[] = keys.map((k) => ({
    node_id: k.nodeId,
    public_key: Buffer.from(k.publicKey).toString("base64"),
    expected_firmware_measurement: Buffer.from(k.expectedFirmwareMeasurement).toString("hex"),
  }));
  writeFileSync(path, JSON.stringify(json, null, 2) + "\n");
}

export function loadPinnedKeys(path: string): NodeAttestationKey[] {
  const json = JSON.parse(readFileSync(path, "utf8")) as PinnedKeyJson[];
  if (!Array.isArray(json)) throw new Error(`${path} is not a list of attestation keys`);
  return json.map((k) => ({
    nodeId: k.node_id,
    publicKey: Buffer.from(k.public_key, "base64"),
    expectedFirmwareMeasurement: Buffer.from(k.expected_firmware_measurement, "hex"),
  }));
}
