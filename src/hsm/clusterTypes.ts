// What the cluster's callers pass in and get back: key requests, per-node results, node summaries.
import { NodeInfo } from "./nodes";

/** A node as the control service lists it. */
export interface NodeSummary extends NodeInfo {
  readonly keyCount: number;
  readonly pendingReplications: number;
  readonly firmwareTampered: boolean;
}

/** One line of the "Cluster Error Status" block. */
export interface NodeResult {
  readonly nodeId: number;
  readonly errState: number;
  /** For key operations: whether the node held the key when the result was built. */
  readonly holdsKey?: boolean;
}

/** One Cfm3* step and its return code. */
export interface StepOutcome {
  readonly name: string;
  readonly returnCode: number;
}

export interface KeyCreation {
  readonly handle: number;
  readonly steps: readonly StepOutcome[];
  readonly nodes: readonly NodeResult[];
  /** Revision of the key's creation event. */
  readonly revision: number;
}

/** Placement and sharing options common to genSymKey and imSymKey. */
export interface NewKeyOptions {
  readonly label: string;
  readonly id: string;
  readonly session: boolean;
  readonly shareWith: readonly number[];
  readonly minSrv: number | undefined;
  readonly timeoutSeconds: number | undefined;
}

export interface GenSymKeyParams extends NewKeyOptions {
  readonly keyType: number;
  readonly keySize: number;
  readonly nonExtractable: boolean;
}

export type ImportMaterial = { readonly kind: "plaintext"; readonly bytes: Buffer } | { readonly kind: "hostWrapped"; readonly bytes: Buffer };

export interface ImportSymKeyParams extends NewKeyOptions {
  readonly keyType: number;
  readonly wrappingKeyHandle: number;
  readonly material: ImportMaterial;
}

/** findKey filters; every given filter must match. */
export interface KeyFilter {
  readonly keyClass?: number;
  readonly keyType?: number;
  readonly label?: string;
  readonly id?: string;
  readonly session?: boolean;
  readonly sharedWith?: readonly number[];
  readonly kcv?: Buffer;
  /** Exact RSA modulus, big-endian without leading zero bytes (-m); matches both halves of an RSA pair. */
  readonly modulus?: Buffer;
}

/** The result of a change to one key that every node holding it takes part in. */
export interface KeyChange {
  readonly nodes: NodeResult[];
  readonly revision: number;
}
