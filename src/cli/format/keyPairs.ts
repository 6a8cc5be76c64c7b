// Console output of the key-pair commands: genRSAKeyPair/genECCKeyPair, importPubKey, importPrivateKey, exportPubKey, exportPrivateKey, sign, verify.
//
// Status lines, handle lines and the cluster block are indented 8 spaces as everywhere in kmu; the pages that
// render them at the margin (sign, verify, exportPubKey) are the same output without the indent. Message lines
// ("PEM formatted ...", "signature is written ...", "BER encoded ...") stand at the margin, as documented.
import { returnCodeText } from "../../../common/returnCodes";
import { attestationLine } from "./keyCreation";
import { clusterBlock, INDENT, NodeLine, stepLine, transcript } from "./transcript";

const ok = (step: string): string => stepLine(step, 0, returnCodeText(0));

export interface KeyPairView {
  readonly publicKeyHandle: number;
  readonly privateKeyHandle: number;
  readonly attestationPassed?: boolean;
  readonly nodes: readonly NodeLine[];
}

/** `        Cfm3GenerateKeyPair:    public key handle: 27    private key handle: 28` (4 spaces between, as documented). */
export function formatKeyPair(view: KeyPairView): string {
  return transcript(
    [
      [ok("Cfm3GenerateKeyPair")],
      [`${INDENT}Cfm3GenerateKeyPair:    public key handle: ${view.publicKeyHandle}    private key handle: ${view.privateKeyHandle}`],
      view.attestationPassed === undefined ? [] : [attestationLine(view.attestationPassed)],
      clusterBlock(view.nodes),
    ],
    true,
  );
}

/** importPubKey: Cfm3CreatePublicKey, `Public Key Handle: N`, the cluster block. */
export function formatImportPubKey(keyHandle: number, nodes: readonly NodeLine[]): string {
  return transcript([[ok("Cfm3CreatePublicKey")], [`${INDENT}Public Key Handle: ${keyHandle}`], clusterBlock(nodes)], true);
}

export interface PrivateImportView {
  /** PKCS#8 DER length of the key read from the file. */
  readonly berLength: number;
  /** As the daemon reported them (no Cfm3WrapHostKey with -wk). */
  readonly steps: readonly string[];
  readonly keyHandle: number;
  readonly attestationPassed?: boolean;
  readonly nodes: readonly NodeLine[];
}

/** importPrivateKey: the BER length line, each step, `Private Key Unwrapped.  Key Handle: N`, attestation, cluster block. */
export function formatImportPrivateKey(view: PrivateImportView): string {
  return transcript(
    [
      [`BER encoded key length is ${view.berLength}`],
      ...view.steps.map((s) => [ok(s)]),
      [`${INDENT}Private Key Unwrapped.  Key Handle: ${view.keyHandle}`],
      view.attestationPassed === undefined ? [] : [attestationLine(view.attestationPassed)],
      clusterBlock(view.nodes),
    ],
    true,
  );
}

/** exportPubKey: the file line, then Cfm3ExportPubKey. */
export function formatExportPubKey(outFile: string): string {
  return transcript([[`PEM formatted public key is written to ${outFile}`], [ok("Cfm3ExportPubKey")]], true);
}

/** exportPrivateKey: Cfm3WrapKey, Cfm3UnWrapHostKey (absent with -wk: the host unwraps), the file line. */
export function formatExportPrivateKey(steps: readonly string[], outFile: string): string {
  return transcript([...steps.map((s) => [ok(s)]), [`PEM formatted private key is written to ${outFile}`]], true);
}

/** sign: Cfm3Sign, the file line, the cluster block. */
export function formatSign(outFile: string, nodes: readonly NodeLine[]): string {
  return transcript([[ok("Cfm3Sign")], [`signature is written to file ${outFile}`], clusterBlock(nodes)], true);
}

/** verify, success: the verdict line, then Cfm3Verify. */
export function formatVerified(): string {
  return transcript([["Signature verification successful"], [ok("Cfm3Verify")]], true);
}
