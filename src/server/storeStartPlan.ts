// Decides, from what the data directory holds, whether the daemon opens its store, creates one, or must refuse
// to start: a store must never be silently replaced, nor a master key invented for a store that has one.
import type { DataDirLayout } from "./dataDirFiles";

/** What the data directory holds at start (sizes in bytes; undefined: the file does not exist). */
export interface DataDirFacts {
  readonly storeBytes: number | undefined;
  readonly walBytes: number | undefined;
  readonly auditBytes: number | undefined;
  readonly masterKeyFileExists: boolean;
  /** The master key comes from --master-key-file or LOCALCLOUDHSM_MASTER_KEY, not from the data directory. */
  readonly masterKeyConfigured: boolean;
  /** --new-store: an empty store may replace a missing one although the directory has history. */
  readonly newStoreAllowed: boolean;
}

export type MasterKeySource = "configured" | "read-file" | "create-file";

export type StorePlan =
  /** A store exists: open it. */
  | { readonly kind: "open"; readonly masterKey: MasterKeySource }
  /** Nothing was here before: a first start. */
  | { readonly kind: "create"; readonly masterKey: MasterKeySource }
  /** --new-store over the remains of a lost store: set them aside, then create. */
  | { readonly kind: "replace"; readonly masterKey: MasterKeySource }
  | { readonly kind: "refuse"; readonly message: string };

const has = (bytes: number | undefined): boolean => bytes !== undefined && bytes > 0;

export function planStoreStart(facts: DataDirFacts, layout: DataDirLayout): StorePlan {
  if (has(facts.storeBytes)) {
    if (!facts.masterKeyConfigured && !facts.masterKeyFileExists) {
      return {
        kind: "refuse",
        message:
          `store ${layout.store} exists but its master key ${layout.masterKey} is missing; restore that file, or give the key with ` +
          `--master-key-file or LOCALCLOUDHSM_MASTER_KEY (a new key could not open this store, so none was made)`,
      };
    }
    return { kind: "open", masterKey: facts.masterKeyConfigured ? "configured" : "read-file" };
  }
  const masterKey: MasterKeySource = facts.masterKeyConfigured ? "configured" : facts.masterKeyFileExists ? "read-file" : "create-file";
  const evidence = has(facts.auditBytes) ? layout.audit : has(facts.walBytes) ? layout.storeWal : undefined;
  if (evidence === undefined) return { kind: "create", masterKey };
  if (facts.newStoreAllowed) return { kind: "replace", masterKey };
  const state = facts.storeBytes === undefined ? "is missing" : "is empty";
  return {
    kind: "refuse",
    message:
      `store ${layout.store} ${state} but ${evidence} holds records of an earlier store; restore the store from a backup, ` +
      `or start once with --new-store (LOCALCLOUDHSM_NEW_STORE=true) to begin an empty one (the old files are kept, renamed with a time suffix)`,
  };
}
