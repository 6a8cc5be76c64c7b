// First start of the daemon as a process: it creates its data directory and secrets, and a dev CU can import keys.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AdminClient, HsmClient, KEY_TYPE, UserType } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv, des3Kcv } from "./support/keyMaterial";

const closer = useDaemonCleanup();

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

describe("first start", () => {
  test("creates the data dir (0700) with store.sqlite, master.key and admin-secret (0600); the admin secret and the dev CU work", async () => {
    const root = makeTempDir();
    const dataDir = join(root, "nested", "data");
    expect(existsSync(dataDir)).toBe(false);

    const daemon = await DaemonProcess.start(standardArgs(dataDir));

    expect(statSync(dataDir).isDirectory()).toBe(true);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(statSync(join(dataDir, "store.sqlite")).isFile()).toBe(true);
    expect(modeOf(join(dataDir, "master.key"))).toBe(0o600);
    expect(modeOf(join(dataDir, "admin-secret"))).toBe(0o600);
    expect(readFileSync(join(dataDir, "master.key"), "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);

    const serving = daemon.logs.find((l) => l.message === "local-cloudhsm serving")!;
    expect(serving).toMatchObject({
      level: "info",
      address: daemon.address,
      port: daemon.port,
      data_dir: dataDir,
      nodes: 3,
      keys: 0,
      admin_secret: join(dataDir, "admin-secret"),
    });
    expect(daemon.logs).toContainEqual(expect.objectContaining({ message: "created development crypto user", username: DEV_USER }));

    // The admin secret is the file's content (what `cat admin-secret` prints).
    const secret = readFileSync(join(dataDir, "admin-secret"), "utf8").trim();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    const admin = closer.add(new AdminClient(daemon.address, secret));
    const users = await admin.listUsers();
    expect(users.users.map((u) => [u.username, u.userType])).toEqual([[DEV_USER, UserType.USER_TYPE_CU]]);
    const bob = await admin.createUser("bob", "password2");
    expect(bob.user).toMatchObject({ username: "bob", userType: UserType.USER_TYPE_CU });
    const wrongAdmin = closer.add(new AdminClient(daemon.address, "not-the-admin-secret-at-all"));
    await expectRpcError(wrongAdmin.listUsers(), grpc.status.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");

    // The dev CU logs in, makes a wrapping key, imports keys and reads their KCVs.
    const hsm = closer.add(new HsmClient(daemon.address));
    const userId = await hsm.login(DEV_USER, DEV_PASSWORD);
    expect(userId).toBe(users.users[0]!.userId);
    const wrappingKey = await hsm.createWrappingKey();
    expect(wrappingKey).toBeGreaterThanOrEqual(6);

    const aes = randomBytes(32);
    const imported = await hsm.importSymKey(aes, { wrappingKey, label: "e2e-aes" });
    expect(imported.steps.map((s) => [s.name, s.returnCode])).toEqual([
      ["Cfm3WrapHostKey", 0],
      ["Cfm3CreateUnwrapTemplate", 0],
      ["Cfm3UnWrapKey", 0],
    ]);
    expect(await hsm.kcv(imported.keyHandle)).toBe(aesKcv(aes));

    const keyFile = join(root, "des3.key");
    const des = randomBytes(24);
    writeFileSync(keyFile, des);
    const fromFile = await hsm.importSymKeyFile(keyFile, { wrappingKey, keyType: KEY_TYPE.DES3, label: "e2e-des3" });
    expect(await hsm.kcv(fromFile.keyHandle)).toBe(des3Kcv(des));

    expect(await hsm.findKey({ label: "e2e-aes" })).toEqual([imported.keyHandle]);
    expect(await hsm.findKey()).toEqual([wrappingKey, imported.keyHandle, fromFile.keyHandle]);

    // Every stdout line is a JSON log object.
    expect(daemon.nonJsonStdout).toEqual([]);
    for (const line of daemon.logs) expect(line).toEqual(expect.objectContaining({ level: expect.any(String) as unknown, message: expect.any(String) as unknown }));
    expect(daemon.logs.filter((l) => l.level === "error")).toEqual([]);

    const exit = await daemon.stop("SIGTERM");
    expect(exit.code).toBe(0);
  });

  test("a second start on the same data dir reuses the master key, admin secret and users", async () => {
    const dataDir = freshDataDir();
    const first = await DaemonProcess.start(standardArgs(dataDir));
    const masterKey = readFileSync(join(dataDir, "master.key"));
    const secret = readFileSync(join(dataDir, "admin-secret"));
    const hsm = await devCuClient(closer, first);
    const wrappingKey = await hsm.createWrappingKey();
    const material = randomBytes(16);
    const { keyHandle } = await hsm.importSymKey(material, { wrappingKey, label: "kept" });
    hsm.close();
    expect((await first.stop("SIGTERM")).code).toBe(0);

    const second = await DaemonProcess.start(standardArgs(dataDir));
    expect(readFileSync(join(dataDir, "master.key"))).toEqual(masterKey);
    expect(readFileSync(join(dataDir, "admin-secret"))).toEqual(secret);
    expect(second.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 2 });
    // alice exists already: not created again.
    expect(second.logs.filter((l) => l.message === "created development crypto user")).toEqual([]);

    const admin = closer.add(new AdminClient(second.address, secret.toString("utf8").trim()));
    expect((await admin.listUsers()).users.map((u) => u.username)).toEqual([DEV_USER]);
    const again = await devCuClient(closer, second);
    expect(await again.kcv(keyHandle)).toBe(aesKcv(material));
    expect((await second.stop("SIGTERM")).code).toBe(0);
  });
});
