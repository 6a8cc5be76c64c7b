// Session keys live only in the daemon's memory: they vanish at a restart (clean or kill -9) while token keys
// remain, their material never reaches the data dir, login sessions end, and handles are not reused.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ATTRIBUTE, HsmClient, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, startLoggedIn, useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv, filesUnder, findMaterial } from "./support/keyMaterial";

const closer = useDaemonCleanup();

describe("session keys across a daemon restart", () => {
  test.each(["SIGTERM", "SIGKILL"] as const)("after %s and a restart, session keys are gone and token keys remain", async (signal) => {
    const dataDir = freshDataDir();
    const { daemon: first, hsm } = await startLoggedIn(closer, dataDir);
    const wrappingKey = await hsm.createWrappingKey();

    const tokenMaterial = randomBytes(32);
    const token = await hsm.importSymKey(tokenMaterial, { wrappingKey, label: "token-key" });
    expect(token.nodeStatuses).toHaveLength(3);
    const sessionMaterial = randomBytes(32);
    const sessionImport = await hsm.importSymKey(sessionMaterial, { wrappingKey, label: "session-key", session: true });
    // A session key lives on one HSM and is reported with one node line.
    expect(sessionImport.nodeStatuses).toHaveLength(1);
    const sessionGen = await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "session-gen", session: true });

    expect(await hsm.kcv(sessionImport.keyHandle)).toBe(aesKcv(sessionMaterial));
    expect(await hsm.findKey({ session: true })).toEqual([sessionImport.keyHandle, sessionGen.keyHandle]);
    expect(await hsm.findKey({ session: false })).toEqual([wrappingKey, token.keyHandle]);
    const tokenAttr = await hsm.getAttribute(sessionImport.keyHandle, ATTRIBUTE.TOKEN);
    expect(tokenAttr.attributes[0]?.text).toBe("0x00000000");
    const oldSession = hsm.metadata();

    const exit = await first.stop(signal);
    expect(signal === "SIGTERM" ? exit.code : exit.signal).toBe(signal === "SIGTERM" ? 0 : "SIGKILL");
    // Session key material never reached the disk (nor did the token key's, in plaintext).
    expect(findMaterial(filesUnder(dataDir), [sessionMaterial, tokenMaterial], dataDir)).toEqual([]);

    const second = await DaemonProcess.start(standardArgs(dataDir));
    expect(second.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 2 });

    // The old login session did not survive either.
    const stale = closer.add(new HsmClient(second.address));
    const staleCall = new Promise((resolveCall, rejectCall) => {
      stale.raw.findKey({ sharedWithUserIds: [], pageSize: 0, pageToken: "" }, oldSession, (err, res) => (err ? rejectCall(err) : resolveCall(res)));
    });
    await expect(staleCall).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    const again = await devCuClient(closer, second);
    expect(await again.findKey({ session: true })).toEqual([]);
    expect(await again.findKey()).toEqual([wrappingKey, token.keyHandle]);
    expect(await again.kcv(token.keyHandle)).toBe(aesKcv(tokenMaterial));
    for (const gone of [sessionImport.keyHandle, sessionGen.keyHandle]) {
      await expectRpcError(again.getAttribute(gone, ATTRIBUTE.KCV), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
    }

    // The wrapping key still works, and a vanished session key's handle is never handed out again.
    const next = await again.importSymKey(randomBytes(16), { wrappingKey, label: "after-restart" });
    expect(next.keyHandle).toBeGreaterThan(sessionGen.keyHandle);
    expect((await second.stop("SIGTERM")).code).toBe(0);
  });

  test("session keys vanish at logout while the daemon keeps running", async () => {
    const { daemon, hsm } = await startLoggedIn(closer, freshDataDir());
    const wrappingKey = await hsm.createWrappingKey();
    const session = await hsm.importSymKey(randomBytes(32), { wrappingKey, label: "short-lived", session: true });
    // Another login session of the same user does not see it.
    const other = await devCuClient(closer, daemon);
    expect(await other.findKey({ label: "short-lived" })).toEqual([]);
    await expectRpcError(other.getAttribute(session.keyHandle, ATTRIBUTE.KCV), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");

    await hsm.logout();
    await hsm.login(DEV_USER, DEV_PASSWORD);
    expect(await hsm.findKey()).toEqual([wrappingKey]);
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
  });
});
