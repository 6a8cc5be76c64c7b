// The start-up decision over the data directory's files: open, create, replace (--new-store) or refuse.
import { dataDirLayout } from "../../src/server/dataDirFiles";
import { DataDirFacts, planStoreStart } from "../../src/server/storeStartPlan";

const layout = dataDirLayout("/srv/hsm");
const firstStart: DataDirFacts = {
  storeBytes: undefined,
  walBytes: undefined,
  auditBytes: undefined,
  masterKeyFileExists: false,
  masterKeyConfigured: false,
  newStoreAllowed: false,
};

describe("planStoreStart", () => {
  test("an empty directory is a first start: create the store and the master key file", () => {
    expect(planStoreStart(firstStart, layout)).toEqual({ kind: "create", masterKey: "create-file" });
    expect(planStoreStart({ ...firstStart, masterKeyConfigured: true }, layout)).toEqual({ kind: "create", masterKey: "configured" });
    // A master.key put there beforehand is used, not replaced; an audit.jsonl with no records is no history.
    expect(planStoreStart({ ...firstStart, masterKeyFileExists: true, auditBytes: 0 }, layout)).toEqual({ kind: "create", masterKey: "read-file" });
  });

  test("an existing store opens with the configured key or the key file", () => {
    const store = { ...firstStart, storeBytes: 8192, auditBytes: 500 };
    expect(planStoreStart({ ...store, masterKeyFileExists: true }, layout)).toEqual({ kind: "open", masterKey: "read-file" });
    expect(planStoreStart({ ...store, masterKeyConfigured: true }, layout)).toEqual({ kind: "open", masterKey: "configured" });
    // --new-store changes nothing while a store exists.
    expect(planStoreStart({ ...store, masterKeyFileExists: true, newStoreAllowed: true }, layout)).toEqual({ kind: "open", masterKey: "read-file" });
  });

  test("an existing store without its master key is refused, and no key is to be created", () => {
    const plan = planStoreStart({ ...firstStart, storeBytes: 8192 }, layout);
    expect(plan.kind).toBe("refuse");
    const message = (plan as { message: string }).message;
    expect(message).toContain(layout.store);
    expect(message).toContain(layout.masterKey);
    expect(message).toContain("--master-key-file");
  });

  test.each([
    ["missing", undefined],
    ["empty", 0],
  ])("a %s store with audit records is refused unless --new-store; with it, the earlier files are set aside", (state, storeBytes) => {
    const lost = { ...firstStart, storeBytes, auditBytes: 1200, masterKeyFileExists: true };
    const plan = planStoreStart(lost, layout);
    expect(plan.kind).toBe("refuse");
    const message = (plan as { message: string }).message;
    expect(message).toContain(`${layout.store} is ${state}`);
    expect(message).toContain(layout.audit);
    expect(message).toContain("--new-store");
    expect(message).toContain("LOCALCLOUDHSM_NEW_STORE");
    expect(planStoreStart({ ...lost, newStoreAllowed: true }, layout)).toEqual({ kind: "replace", masterKey: "read-file" });
  });

  test("a WAL left without its store is history too", () => {
    const plan = planStoreStart({ ...firstStart, walBytes: 4152, masterKeyFileExists: true }, layout);
    expect(plan.kind).toBe("refuse");
    expect((plan as { message: string }).message).toContain(layout.storeWal);
  });
});
