// Interop with the openssl command line: openssl verifies every signature mechanism the daemon makes (over data
// with `dgst -verify`, over a digest with `pkeyutl -verify`), and the daemon verifies what openssl signs.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { EcCurve, HashAlgorithm, HsmClient, KEY_TYPE, KeyPairOptions, SignMechanism } from "../../clients";
import { useDaemonFixture } from "../support/daemonFixture";

const run = promisify(execFile);
const OPENSSL = "/usr/bin/openssl";

interface Case {
  readonly name: string;
  readonly pair: KeyPairOptions;
  /** How openssl makes an equivalent key: `genpkey` arguments. */
  readonly genpkey: readonly string[];
  readonly mechanism: SignMechanism;
  readonly hash: "sha256" | "sha384" | "sha512";
  /** -sigopt (dgst) / -pkeyopt (pkeyutl) settings beyond the digest. */
  readonly options: readonly string[];
}

const HASH: Record<Case["hash"], HashAlgorithm> = {
  sha256: HashAlgorithm.HASH_ALGORITHM_SHA256,
  sha384: HashAlgorithm.HASH_ALGORITHM_SHA384,
  sha512: HashAlgorithm.HASH_ALGORITHM_SHA512,
};

const RSA_2048: KeyPairOptions = { keyType: KEY_TYPE.RSA, modulusBits: 2048, label: "openssl-rsa" };
const RSA_GEN = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
const pss = (saltLength: number): string[] => ["rsa_padding_mode:pss", `rsa_pss_saltlen:${saltLength}`, "rsa_mgf1_md:"];

const CASES: readonly Case[] = [
  { name: "RSA PKCS#1 v1.5 SHA-256", pair: RSA_2048, genpkey: RSA_GEN, mechanism: SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, hash: "sha256", options: [] },
  { name: "RSA PKCS#1 v1.5 SHA-512", pair: RSA_2048, genpkey: RSA_GEN, mechanism: SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, hash: "sha512", options: [] },
  { name: "RSA-PSS SHA-256", pair: RSA_2048, genpkey: RSA_GEN, mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: "sha256", options: pss(32) },
  { name: "RSA-PSS SHA-384", pair: RSA_2048, genpkey: RSA_GEN, mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: "sha384", options: pss(48) },
  ...(
    [
      ["P-256", EcCurve.EC_CURVE_P256, "P-256", "sha256"],
      ["P-384", EcCurve.EC_CURVE_P384, "P-384", "sha384"],
      ["P-521", EcCurve.EC_CURVE_P521, "P-521", "sha512"],
      ["secp256k1", EcCurve.EC_CURVE_SECP256K1, "secp256k1", "sha256"],
    ] as const
  ).map(
    ([name, curve, opensslCurve, hash]): Case => ({
      name: `ECDSA ${name}`,
      pair: { keyType: KEY_TYPE.EC, curve, label: `openssl-${name}` },
      genpkey: ["-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${opensslCurve}`],
      mechanism: SignMechanism.SIGN_MECHANISM_ECDSA,
      hash,
      options: [],
    }),
  ),
];

/** The options for openssl, with rsa_mgf1_md completed with the case's hash. */
function settings(c: Case): string[] {
  return c.options.map((o) => (o === "rsa_mgf1_md:" ? `rsa_mgf1_md:${c.hash}` : o));
}

describe("openssl interop for signatures", () => {
  let alice: HsmClient;
  let dir: string;
  const fixture = useDaemonFixture("all");

  beforeAll(async () => {
    ({ alice } = await fixture.start());
    dir = mkdtempSync(join(tmpdir(), "lchsm-openssl-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, content: Buffer | string): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  describe.each(CASES.map((c) => [c.name, c] as const))("%s", (name, c) => {
    const tag = name.replace(/[^A-Za-z0-9]+/g, "_");
    const message = randomBytes(300);
    const options = { mechanism: c.mechanism, hash: HASH[c.hash] };

    test("openssl dgst -verify accepts the daemon's signature over the data", async () => {
      const pair = await alice.generateKeyPair(c.pair);
      const pem = (await alice.exportPublicKey(pair.publicKeyHandle)).export({ format: "pem", type: "spki" }).toString();
      const signature = await alice.sign(pair.privateKeyHandle, message, options);
      const args = ["dgst", `-${c.hash}`, ...settings(c).flatMap((o) => ["-sigopt", o]), "-verify", file(`${tag}.pub`, pem), "-signature", file(`${tag}.sig`, signature), file(`${tag}.msg`, message)];
      const { stdout } = await run(OPENSSL, args);
      expect(stdout.trim()).toBe("Verified OK");
    });

    test("openssl pkeyutl -verify accepts the daemon's signature over a digest", async () => {
      const pair = await alice.generateKeyPair(c.pair);
      const pem = (await alice.exportPublicKey(pair.publicKeyHandle)).export({ format: "pem", type: "spki" }).toString();
      const digest = createHash(c.hash).update(message).digest();
      const signature = await alice.sign(pair.privateKeyHandle, digest, { ...options, prehashed: true });
      const args = [
        "pkeyutl", "-verify", "-pubin", "-inkey", file(`${tag}-d.pub`, pem),
        "-in", file(`${tag}-d.dgst`, digest), "-sigfile", file(`${tag}-d.sig`, signature),
        "-pkeyopt", `digest:${c.hash}`, ...settings(c).flatMap((o) => ["-pkeyopt", o]),
      ];
      const { stdout } = await run(OPENSSL, args);
      expect(stdout.trim()).toBe("Signature Verified Successfully");
    });

    test("the daemon verifies openssl's signature (public key imported), over the data and over the digest", async () => {
      const keyPath = join(dir, `${tag}-openssl.key`);
      await run(OPENSSL, ["genpkey", ...c.genpkey, "-out", keyPath]);
      const { stdout: publicPem } = await run(OPENSSL, ["pkey", "-in", keyPath, "-pubout"]);
      const imported = await alice.importPublicKey(publicPem, { label: `openssl-${tag}` });
      const sigPath = join(dir, `${tag}-openssl.sig`);
      await run(OPENSSL, ["dgst", `-${c.hash}`, ...settings(c).flatMap((o) => ["-sigopt", o]), "-sign", keyPath, "-out", sigPath, file(`${tag}-o.msg`, message)]);
      const signature = readFileSync(sigPath);
      expect(await alice.verify(imported.keyHandle, message, signature, options)).toBe(true);
      const digest = createHash(c.hash).update(message).digest();
      expect(await alice.verify(imported.keyHandle, digest, signature, { ...options, prehashed: true })).toBe(true);
      expect(await alice.verify(imported.keyHandle, Buffer.concat([message, Buffer.from("!")]), signature, options)).toBe(false);
    });

    test("a private key openssl made, imported with importPrivateKey, signs what openssl verifies", async () => {
      const keyPath = join(dir, `${tag}-imported.key`);
      await run(OPENSSL, ["genpkey", ...c.genpkey, "-out", keyPath]);
      const wrappingKey = await alice.createWrappingKey(`kek-${tag}`);
      const imported = await alice.importPrivateKey(readFileSync(keyPath, "utf8"), { wrappingKey, label: `imported-${tag}` });
      const signature = await alice.sign(imported.keyHandle, message, options);
      const { stdout: publicPem } = await run(OPENSSL, ["pkey", "-in", keyPath, "-pubout"]);
      const args = ["dgst", `-${c.hash}`, ...settings(c).flatMap((o) => ["-sigopt", o]), "-verify", file(`${tag}-i.pub`, publicPem), "-signature", file(`${tag}-i.sig`, signature), file(`${tag}-i.msg`, message)];
      const { stdout } = await run(OPENSSL, args);
      expect(stdout.trim()).toBe("Verified OK");
    });
  });
});
