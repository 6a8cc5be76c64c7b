// kmu's key-pair commands against a real daemon process, checked with openssl: genRSAKeyPair / genECCKeyPair ->
// exportPubKey -> sign -> `openssl dgst -verify` of the signature file with the exported PEM -> kmu verify; and the
// other way, openssl signs with a key kmu exported (exportPrivateKey) or imported (importPrivateKey, importPubKey).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, standardArgs } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { foundHandles, keyHandleOf, killAllKmu, KmuRun, runKmu } from "./support/kmuProcess";

const OK = "HSM Return: SUCCESS";
const CLUSTER_OK = ["        Cluster Error Status", ...[0, 1, 2].map((n) => `        Node id ${n} and err state 0x00000000 : ${OK}`)].join("\n");
const closer = useDaemonCleanup("file");
let daemon: DaemonProcess;
let work: string;

function kmu(...args: string[]): Promise<KmuRun> {
  return runKmu(args, { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: DEV_PASSWORD } });
}

/** openssl in the work dir; returns stdout (throws on a non-zero exit, e.g. "Verification failure"). */
function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The two handles of "Cfm3GenerateKeyPair:    public key handle: P    private key handle: Q". */
function pairOf(run: KmuRun): { pub: number; priv: number } {
  const match = /public key handle: (\d+) {4}private key handle: (\d+)/.exec(run.stdout);
  if (!match) throw new Error(`no key pair in:\n${run.stdout}\n${run.stderr}`);
  return { pub: Number(match[1]), priv: Number(match[2]) };
}

/** Runs kmu and expects exit 0 and nothing on stderr. */
async function ok(...args: string[]): Promise<KmuRun> {
  const run = await kmu(...args);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  return run;
}

beforeAll(async () => {
  const root = makeTempDir("lch-kmu-pairs-");
  work = join(root, "work");
  mkdirSync(work);
  daemon = await DaemonProcess.start(standardArgs(join(root, "data")));
  writeFileSync(join(work, "message.bin"), randomBytes(1000));
  // Above the 64 KiB message limit: kmu hashes it on the host and the HSM signs the digest.
  writeFileSync(join(work, "large.bin"), randomBytes(200_000));
});

afterEach(() => {
  closer.closeAll();
  killAllKmu();
});

test("RSA: genRSAKeyPair -> exportPubKey -> sign (PKCS#1 v1.5 and PSS) -> openssl verifies -> kmu verify; a changed file fails", async () => {
  const gen = await ok("genRSAKeyPair", "-m", "2048", "-e", "65537", "-l", "rsa-e2e");
  const { pub, priv } = pairOf(gen);
  expect(gen.stdout).toBe(
    `\n        Cfm3GenerateKeyPair returned: 0x00 : ${OK}\n\n        Cfm3GenerateKeyPair:    public key handle: ${pub}    private key handle: ${priv}\n\n${CLUSTER_OK}\n`,
  );

  const exported = await ok("exportPubKey", "-k", String(pub), "-out", "rsa.pem");
  expect(exported.stdout).toBe(`\nPEM formatted public key is written to rsa.pem\n\n        Cfm3ExportPubKey returned: 0x00 : ${OK}\n`);
  expect(readFileSync(join(work, "rsa.pem"), "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

  // findKey -m: the modulus as openssl prints it finds both keys of the pair; -c narrows to one class.
  writeFileSync(join(work, "modulus.txt"), openssl("rsa", "-pubin", "-in", "rsa.pem", "-modulus", "-noout"));
  expect(foundHandles(await ok("findKey", "-m", "modulus.txt"))).toEqual([pub, priv].sort((a, b) => a - b));
  expect(foundHandles(await ok("findKey", "-m", "modulus.txt", "-c", "3", "-t", "0"))).toEqual([priv]);

  // -m 1 SHA256_RSA_PKCS
  const signed = await ok("sign", "-f", "message.bin", "-k", String(priv), "-m", "1", "-out", "message.sig");
  expect(signed.stdout).toBe(`\n        Cfm3Sign returned: 0x00 : ${OK}\n\nsignature is written to file message.sig\n\n${CLUSTER_OK}\n`);
  expect(statSync(join(work, "message.sig")).size).toBe(256);
  expect(openssl("dgst", "-sha256", "-verify", "rsa.pem", "-signature", "message.sig", "message.bin")).toBe("Verified OK\n");
  const verified = await ok("verify", "-f", "message.bin", "-s", "message.sig", "-k", String(pub), "-m", "1");
  expect(verified.stdout).toBe(`\nSignature verification successful\n\n        Cfm3Verify returned: 0x00 : ${OK}\n`);

  // -m 7 SHA384_RSA_PKCS_PSS over a file above the message limit; salt = hash length.
  await ok("sign", "-f", "large.bin", "-k", String(priv), "-m", "7", "-out", "large.sig");
  expect(
    openssl("dgst", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:48", "-verify", "rsa.pem", "-signature", "large.sig", "large.bin"),
  ).toBe("Verified OK\n");
  await ok("verify", "-f", "large.bin", "-s", "large.sig", "-k", String(pub), "-m", "7");

  // The same signature over another file, or with another mechanism, does not verify: exit 1, reason on stderr.
  writeFileSync(join(work, "other.bin"), randomBytes(1000));
  const refused = await kmu("verify", "-f", "other.bin", "-s", "message.sig", "-k", String(pub), "-m", "1");
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("\n        Cfm3Verify returned: 0xc0 : HSM Error: Signature or MAC does not verify\n");
  expect(refused.stderr).toMatch(/^kmu: /);
  expect((await kmu("verify", "-f", "message.bin", "-s", "message.sig", "-k", String(pub), "-m", "6")).code).toBe(1);
});

test("EC: genECCKeyPair -i 2 and -i 14 -> exportPubKey -> sign (ECDSA, DER) -> openssl verifies -> kmu verify", async () => {
  for (const [curve, mechanism, digest] of [["2", "17", "-sha256"], ["14", "18", "-sha384"]] as const) {
    const gen = await ok("genECCKeyPair", "-i", curve, "-l", `ec-${curve}`);
    const { pub, priv } = pairOf(gen);
    await ok("exportPubKey", "-k", String(pub), "-out", `ec-${curve}.pem`);
    expect(openssl("pkey", "-pubin", "-in", `ec-${curve}.pem`, "-noout", "-text")).toContain(curve === "2" ? "prime256v1" : "secp384r1");
    await ok("sign", "-f", "message.bin", "-k", String(priv), "-m", mechanism, "-out", `ec-${curve}.sig`);
    expect(openssl("dgst", digest, "-verify", `ec-${curve}.pem`, "-signature", `ec-${curve}.sig`, "message.bin")).toBe("Verified OK\n");
    await ok("verify", "-f", "message.bin", "-s", `ec-${curve}.sig`, "-k", String(pub), "-m", mechanism);
  }
  // SHA-1 signatures are refused by the FIPS policy, before anything is written.
  const { priv } = pairOf(await ok("genECCKeyPair", "-i", "16", "-l", "ec-k1"));
  const sha1 = await kmu("sign", "-f", "message.bin", "-k", String(priv), "-m", "15", "-out", "sha1.sig");
  expect(sha1.code).toBe(1);
  expect(sha1.stdout).toContain("Cfm3Sign returned: 0xb3 : HSM Error: This operation violates the current configured/FIPS policies");
});

test("openssl signs, kmu verifies: a key kmu exported (exportPrivateKey), one kmu imported (importPrivateKey), a public key imported (importPubKey)", async () => {
  const wrapping = keyHandleOf(await ok("genSymKey", "-t", "31", "-s", "32", "-l", "wrapping-key"));
  const { pub, priv } = pairOf(await ok("genRSAKeyPair", "-m", "2048", "-e", "65537", "-l", "rsa-export"));
  const exported = await ok("exportPrivateKey", "-k", String(priv), "-w", String(wrapping), "-out", "exported.pem");
  expect(exported.stdout).toBe(
    `\n        Cfm3WrapKey returned: 0x00 : ${OK}\n\n        Cfm3UnWrapHostKey returned: 0x00 : ${OK}\n\nPEM formatted private key is written to exported.pem\n`,
  );
  expect(statSync(join(work, "exported.pem")).mode & 0o777).toBe(0o600);
  openssl("dgst", "-sha512", "-sign", "exported.pem", "-out", "by-openssl.sig", "message.bin");
  await ok("verify", "-f", "message.bin", "-s", "by-openssl.sig", "-k", String(pub), "-m", "3");

  // An EC key made by openssl, imported through the wrapping key; its public half imported from PEM.
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ossl-ec.pem");
  openssl("pkey", "-in", "ossl-ec.pem", "-pubout", "-out", "ossl-ec-pub.pem");
  const berLength = execFileSync("openssl", ["pkcs8", "-topk8", "-nocrypt", "-in", "ossl-ec.pem", "-outform", "DER"], { cwd: work }).length;
  const imported = await ok("importPrivateKey", "-f", "ossl-ec.pem", "-l", "ossl-ec", "-w", String(wrapping));
  const importedHandle = Number(/Private Key Unwrapped\. {2}Key Handle: (\d+)/.exec(imported.stdout)![1]);
  expect(imported.stdout).toBe(
    `\nBER encoded key length is ${berLength}\n\n        Cfm3WrapHostKey returned: 0x00 : ${OK}\n\n        Cfm3CreateUnwrapTemplate returned: 0x00 : ${OK}\n\n` +
      `        Cfm3UnWrapKey returned: 0x00 : ${OK}\n\n        Private Key Unwrapped.  Key Handle: ${importedHandle}\n\n${CLUSTER_OK}\n`,
  );
  const pubImport = await ok("importPubKey", "-l", "ossl-ec-pub", "-f", "ossl-ec-pub.pem");
  const pubHandle = Number(/Public Key Handle: (\d+)/.exec(pubImport.stdout)![1]);
  expect(pubImport.stdout).toBe(`\n        Cfm3CreatePublicKey returned: 0x00 : ${OK}\n\n        Public Key Handle: ${pubHandle}\n\n${CLUSTER_OK}\n`);
  openssl("dgst", "-sha256", "-sign", "ossl-ec.pem", "-out", "ossl-ec.sig", "message.bin");
  await ok("verify", "-f", "message.bin", "-s", "ossl-ec.sig", "-k", String(pubHandle), "-m", "17");
  // The imported private key signs what openssl's public key verifies.
  await ok("sign", "-f", "message.bin", "-k", String(importedHandle), "-m", "17", "-out", "hsm-ec.sig");
  expect(openssl("dgst", "-sha256", "-verify", "ossl-ec-pub.pem", "-signature", "hsm-ec.sig", "message.bin")).toBe("Verified OK\n");
});
