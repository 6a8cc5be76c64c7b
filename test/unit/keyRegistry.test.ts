// The key registry's indexes: handle order kept without sorting on read, the label index, the session index.
import { defaultFlags, KeyObject } from "../../src/hsm/key";
import { KeyClass, KeyType } from "../../src/hsm/keyTypes";
import { KeyRegistry } from "../../src/hsm/keyRegistry";

function key(handle: number, label: string, sessionId?: string): KeyObject {
  return {
    handle,
    ownerId: 1,
    keyClass: KeyClass.SECRET,
    keyType: KeyType.AES,
    label,
    id: "",
    flags: defaultFlags(KeyType.AES, { session: sessionId !== undefined, local: true, extractable: true }),
    valueLen: 16,
    kcv: undefined,
    sharedWith: new Set(),
    sessionId,
    nodes: new Set([0]),
    material: Buffer.alloc(16),
  };
}

const handles = (keys: readonly KeyObject[]): number[] => keys.map((k) => k.handle);

describe("KeyRegistry", () => {
  test("candidates come in ascending handle order whatever the order of adds, for all keys and per label", () => {
    const registry = new KeyRegistry();
    for (const [handle, label] of [[10, "a"], [7, "b"], [12, "a"], [8, "a"], [20, "b"], [9, "c"]] as const) registry.add(key(handle, label));
    expect(handles(registry.candidates(undefined))).toEqual([7, 8, 9, 10, 12, 20]);
    expect(handles(registry.candidates("a"))).toEqual([8, 10, 12]);
    expect(handles(registry.candidates("b"))).toEqual([7, 20]);
    expect(handles(registry.candidates("missing"))).toEqual([]);
    expect(registry.size).toBe(6);
  });

  test("a label index holds only that label's keys, among many others", () => {
    const registry = new KeyRegistry();
    for (let handle = 6; handle < 10_006; handle++) registry.add(key(handle, handle % 1000 === 0 ? "rare" : `bulk-${handle % 3}`));
    expect(handles(registry.candidates("rare"))).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    expect(registry.candidates("bulk-0").every((k) => k.label === "bulk-0")).toBe(true);
    expect(registry.candidates("bulk-0").length + registry.candidates("bulk-1").length + registry.candidates("bulk-2").length + 10).toBe(10_000);
  });

  test("remove takes a key out of every index; re-adding a handle (a session key made token) replaces it in place", () => {
    const registry = new KeyRegistry();
    for (const handle of [6, 7, 8, 9]) registry.add(key(handle, "x", handle % 2 === 0 ? "s1" : undefined));
    expect(handles(registry.sessionKeys("s1"))).toEqual([6, 8]);
    expect(registry.remove(7)?.handle).toBe(7);
    expect(registry.remove(7)).toBeUndefined();
    expect(handles(registry.candidates(undefined))).toEqual([6, 8, 9]);
    expect(handles(registry.candidates("x"))).toEqual([6, 8, 9]);

    const session = registry.get(8)!;
    registry.remove(8);
    const token = { ...session, sessionId: undefined, label: "y" };
    registry.add(token);
    expect(handles(registry.candidates(undefined))).toEqual([6, 8, 9]);
    expect(registry.candidates(undefined)[1]).toBe(token);
    expect(handles(registry.candidates("x"))).toEqual([6, 9]);
    expect(handles(registry.candidates("y"))).toEqual([8]);
    expect(handles(registry.sessionKeys("s1"))).toEqual([6]);

    registry.remove(6);
    registry.remove(9);
    registry.remove(8);
    expect(registry.size).toBe(0);
    expect(registry.candidates(undefined)).toEqual([]);
    expect(registry.candidates("x")).toEqual([]);
    expect(registry.sessionKeys("s1")).toEqual([]);
  });
});
