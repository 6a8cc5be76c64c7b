// The per-session cap on streams (watches): a session holds at most watchesPerSession, a release frees a slot.
import { SessionRegistry } from "../../src/hsm/sessions";
import { DEFAULTS } from "../../src/server/settings";
import { UserRole } from "../../src/hsm/users";
import { expectHsmError } from "./support/harness";

const ALICE = { userId: 7, role: UserRole.CU, username: "alice" };
/** A fresh end listener: each stream registers its own. */
const onEnd = (): (() => void) => () => undefined;

describe("watches per session", () => {
  test("past watchesPerSession a hold is TOO_MANY_WATCHES naming the cap; a release frees a slot; other sessions are not affected", async () => {
    const registry = new SessionRegistry({ idleMs: 1000, maxLifetimeMs: 1000, perUser: 4, watchesPerSession: 2 });
    const one = registry.open(ALICE, 0, 0).session.sessionId;
    const other = registry.open(ALICE, 0, 0).session.sessionId;
    const release = registry.hold(one, onEnd());
    registry.hold(one, onEnd());
    const err = await expectHsmError(() => registry.hold(one, onEnd()), "TOO_MANY_WATCHES");
    expect(err.details).toEqual({ max_watches: 2 });
    registry.hold(other, onEnd());
    release(1);
    // Releasing twice frees one slot only.
    release(2);
    registry.hold(one, onEnd());
    await expectHsmError(() => registry.hold(one, onEnd()), "TOO_MANY_WATCHES");
  });

  test("with the daemon's default limits the cap is 64", async () => {
    const registry = new SessionRegistry(DEFAULTS.sessionLimits);
    const id = registry.open(ALICE, 0, 0).session.sessionId;
    for (let i = 0; i < DEFAULTS.sessionLimits.watchesPerSession; i++) registry.hold(id, onEnd());
    await expectHsmError(() => registry.hold(id, onEnd()), "TOO_MANY_WATCHES");
    expect(DEFAULTS.sessionLimits.watchesPerSession).toBe(64);
  });
});
