// What genRSAKeyPair and genECCKeyPair share: the new-key flags plus -nex and -m_value, and the printed outcome.
import { GenerateKeyPairResponse } from "../../../clients/generated/localcloudhsm/v1/hsm_service";
import { Attested } from "../../../clients/hsmClient";
import { FlagTable, ParsedFlags } from "../flagParser";
import { parseInteger } from "../flagValues";
import { formatKeyPair } from "../format/keyPairs";
import { jsonNodes, jsonSteps } from "../jsonView";
import { Outcome, success } from "../outcome";
import { checkNewKeyFlags, NEW_KEY_FLAGS, NewKeyParams } from "./newKeyFlags";

export const KEY_PAIR_FLAGS: FlagTable = { ...NEW_KEY_FLAGS, "-nex": { kind: "switch" }, "-m_value": { kind: "value" } };

/** -m_value is checked for its documented range (0..8) and then ignored: the emulator has no quorum authentication. */
export function checkKeyPairFlags(flags: ParsedFlags): NewKeyParams & { nonExtractable: boolean } {
  const mValue = flags.value("-m_value");
  if (mValue !== undefined) parseInteger("-m_value", mValue, 0, 8);
  return { ...checkNewKeyFlags(flags), nonExtractable: flags.has("-nex") };
}

/** The documented transcript; a failed -attest makes the command fail although the keys exist. */
export function keyPairOutcome(res: GenerateKeyPairResponse & Attested): Outcome {
  const text = formatKeyPair({
    publicKeyHandle: res.publicKeyHandle,
    privateKeyHandle: res.privateKeyHandle,
    nodes: res.nodeStatuses,
    ...(res.attestation ? { attestationPassed: res.attestation.pass } : {}),
  });
  const data = {
    public_key_handle: res.publicKeyHandle,
    private_key_handle: res.privateKeyHandle,
    steps: jsonSteps(res.steps),
    node_statuses: jsonNodes(res.nodeStatuses),
    revision: res.revision,
    ...(res.attestation ? { attestation: { pass: res.attestation.pass, problems: [...res.attestation.problems] } } : {}),
  };
  if (res.attestation && !res.attestation.pass) {
    return { kind: "failure", text, errorCode: 1, reason: "ATTESTATION_FAILED", message: `attestation check failed for key ${res.privateKeyHandle}: ${res.attestation.problems.join("; ")}`, data };
  }
  return success(text, data);
}

export const KEY_PAIR_HELP_ROWS: readonly (readonly [string, string])[] = [
  ["-l", "label of both keys; need not be unique (required)"],
  ["-id", "key ID of both keys, unique in the cluster (default: empty)"],
  ["-min_srv", "HSMs that must hold the keys before they count as created (default 1)"],
  ["-m_value", "0..8: accepted and ignored (the emulator has no quorum authentication)"],
  ["-nex", "make the private key non-extractable (the public key always is extractable)"],
  ["-sess", "session keys: exist only in this login session (default: token keys)"],
  ["-timeout", "seconds to wait for -min_srv; only together with -min_srv (default: wait)"],
  ["-u", "comma-separated crypto user ids to share the private key with, e.g. 5,6 (never your own)"],
  ["-attest", "check the firmware attestation of the HSMs"],
];
