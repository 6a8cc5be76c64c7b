// Key pairs through a real daemon process: generate, sign, verify, import and export, then a restart: the keys
// come back from the store and still sign; the audit log holds the CloudHSM opcodes of each creation and export,
// and no private key material reaches the log or the audit file.
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes, verify as cryptoVerify } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { EcCurve, HashAlgorithm, HsmClient, KEY_TYPE, SignMechanism } from "../../clients";
import { AuditRecord } from "../../src/hsm/auditLog";
import { DaemonProcess, makeTempDir, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const closer = useDaemonCleanup();
const run = promisify(execFile);
const PSS = { mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: HashAlgorithm.HASH_ALGORITHM_SHA256 };
const ECDSA = { mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA384 };

test("generate, sign, verify, import and export across a restart, audited, with no private material in any file", async () => {
  const dataDir = freshDataDir("lch-keypairs-");
  const first = await DaemonProcess.start(standardArgs(dataDir));
  const hsm: HsmClient = await devCuClient(closer, first);

  const rsa = await hsm.generateKeyPair({ keyType: KEY_TYPE.RSA, modulusBits: 2048, label: "e2e-rsa", id: "e2e-rsa" });
  const ec = await hsm.generateKeyPair({ keyType: KEY_TYPE.EC, curve: EcCurve.EC_CURVE_P384, label: "e2e-ec", minSrv: 3 });
  const message = randomBytes(64);
  const rsaSignature = await hsm.sign(rsa.privateKeyHandle, message, PSS);
  expect(await hsm.verify(rsa.publicKeyHandle, message, rsaSignature, PSS)).toBe(true);

  // openssl, a separate process, verifies what the daemon process signed.
  const pemPath = join(makeTempDir("lch-keypairs-files-"), "e2e-ec.pub");
  writeFileSync(pemPath, (await hsm.exportPublicKey(ec.publicKeyHandle)).export({ format: "pem", type: "spki" }));
  const sigPath = `${pemPath}.sig`;
  writeFileSync(sigPath, await hsm.sign(ec.privateKeyHandle, message, ECDSA));
  const msgPath = `${pemPath}.msg`;
  writeFileSync(msgPath, message);
  expect((await run("/usr/bin/openssl", ["dgst", "-sha384", "-verify", pemPath, "-signature", sigPath, msgPath])).stdout.trim()).toBe("Verified OK");

  const outside = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const outsideDer = outside.privateKey.export({ format: "der", type: "pkcs8" });
  const wrappingKey = await hsm.createWrappingKey("e2e-kek");
  const importedPrivate = await hsm.importPrivateKey(outside.privateKey, { wrappingKey, label: "e2e-imported" });
  const importedPublic = await hsm.importPublicKey(outside.publicKey, { label: "e2e-imported-public" });
  const exported = await hsm.exportPrivateKey(importedPrivate.keyHandle, wrappingKey);
  expect(exported.export({ format: "der", type: "pkcs8" })).toEqual(outsideDer);
  const before = await hsm.getAttribute(rsa.privateKeyHandle, 512);
  await hsm.logout();
  expect((await first.stop("SIGTERM")).code).toBe(0);

  const second = await DaemonProcess.start(standardArgs(dataDir));
  const again = await devCuClient(closer, second);
  expect(await again.getAttribute(rsa.privateKeyHandle, 512)).toEqual(before);
  expect(await again.findKey({ id: "e2e-rsa" })).toEqual([rsa.publicKeyHandle, rsa.privateKeyHandle]);
  const afterRestart = await again.sign(rsa.privateKeyHandle, message, PSS);
  expect(await again.verify(rsa.publicKeyHandle, message, afterRestart, PSS)).toBe(true);
  const p256 = await again.sign(importedPrivate.keyHandle, message, { mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA256 });
  expect(cryptoVerify("sha256", message, outside.publicKey, p256)).toBe(true);
  expect(await again.verify(importedPublic.keyHandle, message, p256, { mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA256 })).toBe(true);
  await again.logout();
  expect((await second.stop("SIGTERM")).code).toBe(0);

  const records = readFileSync(join(dataDir, "audit.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditRecord);
  const opcodeOf = (handle: number): string[] => records.filter((r) => r.handle === handle).map((r) => r.opcode);
  for (const handle of [rsa.publicKeyHandle, rsa.privateKeyHandle, ec.publicKeyHandle, ec.privateKeyHandle]) {
    expect(opcodeOf(handle)).toEqual(["CN_GENERATE_KEY_PAIR"]);
  }
  expect(opcodeOf(importedPrivate.keyHandle)).toEqual(["CN_UNWRAP_KEY", "CN_WRAP_KEY"]);
  expect(opcodeOf(importedPublic.keyHandle)).toEqual(["CN_CREATE_OBJECT"]);

  // The private key's bytes (DER and the scalar) appear in no file the daemon wrote in plaintext.
  const scalar = Buffer.from(outside.privateKey.export({ format: "jwk" }).d!, "base64url");
  const logText = [...first.logs, ...second.logs].map((l) => JSON.stringify(l)).join("\n") + first.stderr + second.stderr;
  for (const text of [logText, readFileSync(join(dataDir, "audit.jsonl"), "utf8")]) {
    for (const secret of [scalar.toString("hex"), scalar.toString("base64"), outsideDer.toString("base64")]) expect(text.includes(secret)).toBe(false);
  }
  const store = readFileSync(join(dataDir, "store.sqlite"));
  expect(store.includes(scalar)).toBe(false);
  expect(store.includes(outsideDer.subarray(0, 64))).toBe(false);
});
