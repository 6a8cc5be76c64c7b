// Console output of getHSMInfo, getPartitionInfo and loginStatus: blocks of "Field<padded> :value" lines, then the status line.
//
// KMU's own pages do not document these three; the field layout follows the documented getHSMInfo of
// cloudhsm_mgmt_util and of the same vendor tool ("Label                :cavium", the name padded to 21).
import { returnCodeText } from "../../../common/returnCodes";
import { INDENT, stepLine, transcript } from "./transcript";

/** `        Serial Number        :LCH-000001` */
export function fieldLine(name: string, value: string | number): string {
  return `${INDENT}${name.padEnd(21)}:${value}`;
}

/** The FIPS state as the vendor tool prints it (every emulated node is in FIPS mode). */
export const FIPS_STATE_TEXT = "2 [FIPS mode with single factor authentication]";

export interface HsmView {
  readonly nodeId: number;
  readonly model: string;
  readonly serialNumber: string;
  readonly firmwareVersion: string;
  readonly available: boolean;
  readonly fipsMode: boolean;
  readonly keysHeld: number;
}

/** A count line, then one block per node headed `*** Node <id> HSM Info ***`, then Cfm3GetHSMInfo's line. */
export function formatHsmInfo(hsms: readonly HsmView[]): string {
  return transcript(
    [
      [`${INDENT}Getting HSM Info on ${hsms.length} nodes`],
      ...hsms.map((h) => [
        `${INDENT}*** Node ${h.nodeId} HSM Info ***`,
        fieldLine("Label", "local-cloudhsm"),
        fieldLine("Model", h.model),
        fieldLine("Serial Number", h.serialNumber),
        fieldLine("FIPS state", h.fipsMode ? FIPS_STATE_TEXT : "0 [non-FIPS mode]"),
        fieldLine("Firmware Version", h.firmwareVersion),
        fieldLine("Node State", h.available ? "available" : "unavailable"),
        fieldLine("Keys Held", h.keysHeld),
      ]),
      [stepLine("Cfm3GetHSMInfo", 0, returnCodeText(0))],
    ],
    true,
  );
}

export interface PartitionView {
  readonly name: string;
  readonly maxKeys: number;
  readonly tokenKeys: number;
  readonly sessionKeys: number;
  readonly users: number;
  readonly sessions: number;
}

/** One block of partition fields, then Cfm3GetPartitionInfo's line. A max of 0 means no limit. */
export function formatPartitionInfo(p: PartitionView): string {
  return transcript(
    [
      [
        fieldLine("Partition Name", p.name),
        fieldLine("FIPS state", FIPS_STATE_TEXT),
        fieldLine("Max Keys", p.maxKeys === 0 ? "no limit" : p.maxKeys),
        fieldLine("Token Keys", p.tokenKeys),
        fieldLine("Session Keys", p.sessionKeys),
        fieldLine("Users", p.users),
        fieldLine("Open Sessions", p.sessions),
      ],
      [stepLine("Cfm3GetPartitionInfo", 0, returnCodeText(0))],
    ],
    true,
  );
}

export interface LoginView {
  readonly userId: number;
  readonly username: string;
  /** "CU" or "CO". */
  readonly userType: string;
  readonly nodeId: number;
  /** ISO 8601, UTC. */
  readonly expiresAt: string;
}

/** Who is logged in, then Cfm3GetLoginStatus's line; without a session, one line saying so. */
export function formatLoginStatus(view: LoginView | undefined): string {
  if (!view) return transcript([[`${INDENT}No user is logged in. Use loginHSM.`]], true);
  return transcript(
    [
      [
        fieldLine("Login State", `Logged in as '${view.username}(${view.userType})'`),
        fieldLine("User Id", view.userId),
        fieldLine("Session Node Id", view.nodeId),
        fieldLine("Session Expires", view.expiresAt),
      ],
      [stepLine("Cfm3GetLoginStatus", 0, returnCodeText(0))],
    ],
    true,
  );
}
