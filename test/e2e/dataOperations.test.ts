// Encrypt, Decrypt, Mac and VerifyMac through a real daemon process: data encrypted and MACed before a restart
// decrypts and verifies after it (the token keys came back from the store), a tampered tag is still refused, and
// neither the data dir, the audit log nor the daemon's log lines hold the plaintext or the key. The README's
// TypeScript example is examples/encryptDecrypt.ts verbatim and runs as written.
import * as grpc from "@grpc/grpc-js";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CipherMechanism, HashAlgorithm, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { childEnv, DaemonProcess, REPO_ROOT, standardArgs } from "./support/daemonProcess";
import { devCuClient, startLoggedIn, useDaemonCleanup } from "./support/e2eFixture";
import { filesUnder, findMaterial, findMaterialInText } from "./support/keyMaterial";

const closer = useDaemonCleanup();

test("what was encrypted and MACed before a restart decrypts and verifies after it; no plaintext or key on disk or in logs", async () => {
  const { daemon: first, hsm, dataDir } = await startLoggedIn(closer);
  const wrappingKey = await hsm.createWrappingKey();
  const keyMaterial = randomBytes(32);
  const aes = (await hsm.importSymKey(keyMaterial, { wrappingKey, label: "data-key" })).keyHandle;
  const hmacKey = (await hsm.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 32, label: "mac-key" })).keyHandle;

  const plaintext = Buffer.from(`card 4111-1111-1111-1111 ${randomBytes(8).toString("hex")}`);
  const aad = Buffer.from("order-42");
  const gcm = await hsm.encrypt(aes, plaintext, { mechanism: CipherMechanism.CIPHER_MECHANISM_AES_GCM, aad });
  const cbcIv = randomBytes(16);
  const cbc = await hsm.encrypt(aes, plaintext, { mechanism: CipherMechanism.CIPHER_MECHANISM_AES_CBC_PAD, iv: cbcIv });
  const mac = await hsm.mac(hmacKey, plaintext, HashAlgorithm.HASH_ALGORITHM_SHA256);
  hsm.close();
  expect((await first.stop("SIGTERM")).code).toBe(0);

  const second = await DaemonProcess.start(standardArgs(dataDir));
  const again = await devCuClient(closer, second);
  expect(await again.decrypt(aes, gcm.ciphertext, { mechanism: CipherMechanism.CIPHER_MECHANISM_AES_GCM, iv: gcm.iv, tag: gcm.tag, aad })).toEqual(plaintext);
  expect(await again.decrypt(aes, cbc.ciphertext, { mechanism: CipherMechanism.CIPHER_MECHANISM_AES_CBC_PAD, iv: cbcIv })).toEqual(plaintext);
  await expect(again.verifyMac(hmacKey, plaintext, mac, HashAlgorithm.HASH_ALGORITHM_SHA256)).resolves.toBeUndefined();
  const tampered = Buffer.from(gcm.tag);
  tampered[0]! ^= 0x01;
  await expectRpcError(
    again.decrypt(aes, gcm.ciphertext, { mechanism: CipherMechanism.CIPHER_MECHANISM_AES_GCM, iv: gcm.iv, tag: tampered, aad }),
    grpc.status.INVALID_ARGUMENT,
    "ENCRYPTED_DATA_INVALID",
  );
  again.close();
  expect((await second.stop("SIGTERM")).code).toBe(0);

  // Data operations are not audited (CloudHSM's audit log records management commands, not each use of a key).
  const opcodes = readFileSync(join(dataDir, "audit.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (JSON.parse(line) as { opcode: string }).opcode);
  expect(opcodes).toContain("CN_GENERATE_KEY");
  expect(opcodes.filter((op) => /ENCRYPT|DECRYPT|MAC/.test(op))).toEqual([]);
  expect(findMaterial(filesUnder(dataDir), [plaintext, keyMaterial], dataDir)).toEqual([]);
  const logText = [first, second].map((d) => `${d.stdout}\n${d.stderr}`).join("\n");
  expect(findMaterialInText(logText, [plaintext, keyMaterial, mac])).toEqual([]);
  expect(logText).not.toContain("4111-1111");
  // The calls were logged, by method and key handle.
  expect(first.logs.filter((l) => l.method === "Encrypt").map((l) => l.key_handle)).toEqual([aes, aes]);
});

test("the README's example is examples/encryptDecrypt.ts and runs against a daemon as written", async () => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Encrypt, decrypt and MAC\n");
  expect(start).toBeGreaterThan(-1);
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(section)?.[1];
  expect(block).toBe(readFileSync(join(REPO_ROOT, "examples", "encryptDecrypt.ts"), "utf8"));

  const { daemon } = await startLoggedIn(closer);
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, "dist", "examples", "encryptDecrypt.js")], { cwd: REPO_ROOT, env: childEnv({ LOCALCLOUDHSM_ADDRESS: daemon.address }) }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
  expect(run).toEqual({ code: 0, stdout: "decrypted: hello\ntampered data: SIGNATURE_INVALID\n", stderr: "" });
});
