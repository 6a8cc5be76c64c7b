// No secret in any log: a daemon process at --log-level debug with grpc-js tracing everything (GRPC_TRACE=all,
// GRPC_VERBOSITY=DEBUG) serves logins (good and bad passwords), plaintext and -wk imports, exports (exSymKey with and
// without -wk), user creation and cluster control; then every stdout and stderr line and every audit line is scanned for
// the key material (hex in both cases, base64, base64url), the passwords, the session tokens (also sent as `Token x`
// and `Bearer "x"`) and the admin secret (which has spaces in it).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AdminClient, ClusterControlClient, HsmClient, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { rawCall, tokenOf } from "../support/rawCall";
import { childEnv, DaemonProcess, standardArgs } from "./support/daemonProcess";
import { freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const closer = useDaemonCleanup("file");

interface Secret {
  readonly kind: "material" | "password" | "credential";
  readonly what: string;
  readonly text: string;
}

/** Every textual form a byte string could be logged in. */
function byteForms(what: string, bytes: Buffer): Secret[] {
  const hex = bytes.toString("hex");
  const forms: [string, string][] = [
    ["hex", hex],
    ["HEX", hex.toUpperCase()],
    ["base64", bytes.toString("base64")],
    ["base64url", bytes.toString("base64url")],
    // A JSON dump of a Buffer ({"type":"Buffer","data":[...]}) or a util.inspect of one (<Buffer 0a 1b ...>).
    ["JSON bytes", JSON.stringify([...bytes]).slice(1, -1)],
    ["inspect", [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ")],
  ];
  return forms.map(([form, text]) => ({ kind: "material", what: `${what} (${form})`, text }));
}

interface Scan {
  /** Every line that holds a secret: "source:line: what: line". */
  readonly hits: { readonly kind: "material" | "password" | "credential"; readonly text: string }[];
}

describe("no secrets in logs", () => {
  let scan: Scan;

  beforeAll(async () => {
    const dataDir = freshDataDir("lch-secrets-");
    const devPassword = `Dev-${randomBytes(6).toString("hex")}`;
    const bobPassword = `Bob-${randomBytes(6).toString("hex")}`;
    const wrongPassword = `Wrong-${randomBytes(6).toString("hex")}`;
    const resetPassword = `Reset-${randomBytes(6).toString("hex")}`;
    // An admin secret with spaces inside: a redaction that stops at the first space would leave the rest in the log.
    const adminSecretWords = Array.from({ length: 4 }, () => randomBytes(6).toString("hex"));
    const adminSecret = `adm ${adminSecretWords.join(" ")}`;
    const daemon = await DaemonProcess.start(
      standardArgs(dataDir, ["--log-level", "debug"]).map((a) => (a === "alice:password1" ? `alice:${devPassword}` : a)),
      childEnv({ GRPC_TRACE: "all", GRPC_VERBOSITY: "DEBUG", LOCALCLOUDHSM_ADMIN_SECRET: adminSecret }),
    );
    const admin = closer.add(new AdminClient(daemon.address, adminSecret));
    const control = closer.add(new ClusterControlClient(daemon.address, adminSecret));
    const alice = closer.add(new HsmClient(daemon.address));
    const bob = closer.add(new HsmClient(daemon.address));
    const guesser = closer.add(new HsmClient(daemon.address));

    await admin.createUser("bob", bobPassword);
    await expectRpcError(guesser.login("alice", wrongPassword), grpc.status.UNAUTHENTICATED, "LOGIN_FAILED");
    await alice.login("alice", devPassword);
    const bobId = await bob.login("bob", bobPassword);
    const tokens = [tokenOf(alice), tokenOf(bob)];
    // Live credentials sent in the forms a confused client might use: another scheme, a quoted bearer value, the admin
    // secret twice in one call (grpc-js refuses two authorization values on the client, so only the secret can be doubled).
    const raw = closer.add(new grpc.Client(daemon.address, grpc.credentials.createInsecure()));
    const confused: [string, string, string[]][] = [
      ["/localcloudhsm.v1.HsmService/ListHsmUsers", "authorization", [`Token ${tokens[0]}`]],
      ["/localcloudhsm.v1.HsmService/ListHsmUsers", "authorization", [`Bearer "${tokens[0]}"`]],
      ["/localcloudhsm.v1.AdminService/ListUsers", "x-admin-secret", [adminSecret, `${adminSecret} again`]],
    ];
    const outcomes: string[] = [];
    for (const [path, key, values] of confused) {
      const metadata = new grpc.Metadata();
      for (const value of values) metadata.add(key, value);
      const outcome = await rawCall(raw, path, Buffer.alloc(0), metadata);
      outcomes.push(outcome.info?.reason ?? grpc.status[outcome.code]);
    }
    // Only a bearer token is a session token; two admin secrets are not the admin secret.
    expect(outcomes).toEqual(["UNAUTHENTICATED", "UNAUTHENTICATED", "ADMIN_SECRET_INVALID"]);

    // Key material the test knows: a wrapping key imported in plaintext (so -wk can use it on the host), an AES key
    // and a 3DES key imported in plaintext, and an AES key imported with -wk (wrapped here, never sent in plaintext).
    const transportKey = await alice.createWrappingKey("transport");
    const wrappingMaterial = randomBytes(32);
    const wrappingKey = (await alice.importSymKey(wrappingMaterial, { wrappingKey: transportKey, label: "known-wrapping" })).keyHandle;
    const aesMaterial = randomBytes(32);
    const des3Material = randomBytes(24);
    const wkMaterial = randomBytes(16);
    const aes = (await alice.importSymKey(aesMaterial, { wrappingKey, label: "plain-aes", shareWith: [bobId] })).keyHandle;
    const des3 = (await alice.importSymKey(des3Material, { wrappingKey, keyType: KEY_TYPE.DES3, label: "plain-3des" })).keyHandle;
    const wk = (await alice.importSymKey(wkMaterial, { wrappingKey, hostWrappingKey: wrappingMaterial, label: "wk-aes", minSrv: 2 })).keyHandle;

    // exSymKey both ways: through Cfm3UnWrapHostKey (plaintext crosses the wire to the client) and with -wk.
    expect((await alice.exportKey(aes, wrappingKey)).material).toEqual(aesMaterial);
    expect((await alice.exportKey(des3, wrappingKey)).material).toEqual(des3Material);
    expect((await alice.exportKey(wk, wrappingKey, wrappingMaterial)).material).toEqual(wkMaterial);
    expect((await alice.exportKey(wrappingKey, transportKey)).material).toEqual(wrappingMaterial);
    // Bob uses what is shared with him, and is refused what is not (failures are logged too).
    expect(await bob.kcv(aes)).toHaveLength(6);
    await expectRpcError(bob.exportKey(aes, wrappingKey), grpc.status.PERMISSION_DENIED, "KEY_ACCESS_DENIED");
    await expectRpcError(bob.exportKey(des3, wrappingKey), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
    await expectRpcError(alice.importSymKey(aesMaterial, { wrappingKey, hostWrappingKey: randomBytes(32), label: "bad-wk" }), grpc.status.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED");
    await control.setReplicationDelay(1, 5);
    await bob.logout();
    await alice.logout();
    // A password set by the admin's unlock.
    await admin.unlockUser("bob", resetPassword);
    expect((await daemon.stop("SIGTERM")).code).toBe(0);

    const secrets: Secret[] = [
      ...byteForms("wrapping key material", wrappingMaterial),
      ...byteForms("AES key material", aesMaterial),
      ...byteForms("3DES key material", des3Material),
      ...byteForms("-wk key material", wkMaterial),
      { kind: "password", what: "alice's password", text: devPassword },
      { kind: "password", what: "bob's password", text: bobPassword },
      { kind: "password", what: "the wrong password", text: wrongPassword },
      { kind: "password", what: "bob's reset password", text: resetPassword },
      { kind: "credential", what: "the admin secret", text: adminSecret },
      ...adminSecretWords.map((word, i): Secret => ({ kind: "credential", what: `word ${i + 2} of the admin secret`, text: word })),
      ...tokens.map((token, i): Secret => ({ kind: "credential", what: `session token ${i + 1}`, text: token })),
    ];
    const sources: [string, string][] = [
      ["stdout", daemon.stdout],
      ["stderr", daemon.stderr],
      ["audit.jsonl", readFileSync(join(dataDir, "audit.jsonl"), "utf8")],
    ];
    const hits: Scan["hits"][number][] = [];
    let lines = 0;
    for (const [source, text] of sources) {
      text.split("\n").forEach((line, i) => {
        lines += 1;
        for (const s of secrets) if (line.includes(s.text)) hits.push({ kind: s.kind, text: `${source}:${i + 1}: ${s.what}: ${line.slice(0, 240)}` });
      });
    }
    scan = { hits };

    // The scan looked at something: debug call lines, grpc-js trace lines and one audit line per event.
    const grpcLines = daemon.logs.filter((l) => l.component === "grpc-js").length;
    const callLines = daemon.logs.filter((l) => l.message === "call").length;
    const auditLines = sources[2]![1].trim().split("\n").length;
    process.stdout.write(
      `no-secrets scan: ${lines} lines (${daemon.logs.length} log lines, ${grpcLines} from grpc-js tracing, ${callLines} call lines, ` +
        `${auditLines} audit lines), ${secrets.length} secret forms; hits: ${["material", "password", "credential"].map((k) => `${k} ${hits.filter((h) => h.kind === k).length}`).join(", ")}\n`,
    );
    expect(grpcLines).toBeGreaterThan(100);
    expect(callLines).toBeGreaterThanOrEqual(20);
    expect(auditLines).toBeGreaterThanOrEqual(10);
    expect(daemon.nonJsonStdout).toEqual([]);
  });

  test("no key material (hex, HEX, base64, base64url, byte dumps) in any log or audit line", () => {
    expect(scan.hits.filter((h) => h.kind === "material").map((h) => h.text)).toEqual([]);
  });

  test("no password (good, bad or new) in any log or audit line", () => {
    expect(scan.hits.filter((h) => h.kind === "password").map((h) => h.text)).toEqual([]);
  });

  // grpc-js tracing prints request headers; the daemon redacts authorization and x-admin-secret values whole
  // (a spaced admin secret, `Token x`, `Bearer "x"`, two authorization values).
  test("no session token or admin secret (nor any word of it) in any log or audit line, even with grpc-js tracing everything", () => {
    expect(scan.hits.filter((h) => h.kind === "credential").map((h) => h.text)).toEqual([]);
  });
});
