// What the emulated HSMs say about themselves (getHSMInfo, getPartitionInfo): fixed, deterministic descriptions plus live counts.
//
// Real HSMs report a hardware model, a serial number and a firmware version. The emulator has no hardware, so
// every node reports the same documented model family and a serial number derived only from its node id: a test
// can assert them, and two runs (or two clusters in one process) agree. The values are listed in the README.
import { NodeState } from "./nodes";

/** The model family CloudHSM's hsm1 nodes report (cloudhsm_mgmt_util getHSMInfo example). */
export const HSM_MODEL = "NITROX-III CNN35XX-NFBE";

/** The firmware version every emulated node reports. */
export const HSM_FIRMWARE_VERSION = "2.6.0";

/** The partition name: one partition per cluster, as CloudHSM gives each cluster its own. */
export const PARTITION_NAME = "local-cloudhsm-partition";

/** Node n's serial number: "LCH" and n + 1 on 6 digits, e.g. LCH-000001 for node 0 (never a real serial's form). */
export function hsmSerialNumber(nodeId: number): string {
  return `LCH-${String(nodeId + 1).padStart(6, "0")}`;
}

/** One node as getHSMInfo describes it. */
export interface HsmNodeInfo {
  readonly nodeId: number;
  readonly model: string;
  readonly serialNumber: string;
  readonly firmwareVersion: string;
  /** False while the node is down (a partitioned node still answers). */
  readonly available: boolean;
  /** Always true: the emulator enforces the FIPS policy (RC4, non-FIPS curves and SHA-1 signatures are refused). */
  readonly fipsMode: boolean;
  /** Keys (token and session) the node holds now. */
  readonly keysHeld: number;
}

/** The cluster's partition as getPartitionInfo describes it. */
export interface PartitionSummary {
  readonly name: string;
  /** Most keys the cluster holds; 0 for no limit. */
  readonly maxKeys: number;
  readonly tokenKeys: number;
  readonly sessionKeys: number;
  readonly users: number;
  readonly sessions: number;
}

/** A node's description from its live state. */
export function describeNode(node: { nodeId: number; state: NodeState; keyCount: number }): HsmNodeInfo {
  return {
    nodeId: node.nodeId,
    model: HSM_MODEL,
    serialNumber: hsmSerialNumber(node.nodeId),
    firmwareVersion: HSM_FIRMWARE_VERSION,
    available: node.state !== "DOWN",
    fipsMode: true,
    keysHeld: node.keyCount,
  };
}
