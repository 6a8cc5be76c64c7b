// One fast-check arbitrary per RPC of the three services, built from cases.ts, with the credentials each is sent with.
import fc from "fast-check";
import { createHash, generateKeyPairSync } from "node:crypto";
import { TEST_PASSWORD } from "../../support/testDaemon";
import {
  adminCreds,
  attributeId,
  blob,
  Body,
  bool,
  bytesOfLength,
  bytesSpec,
  Cred,
  handleItem,
  HandleSource,
  handleSpec,
  hostWrappedAny,
  hsmCreds,
  keyId,
  keyMaterial,
  KeyName,
  keySize,
  keyType,
  label,
  message,
  minSrv,
  mixed,
  nodeItem,
  nonce,
  one,
  password,
  printable,
  repeated,
  sensibleHandle,
  Spec,
  text,
  textSpec,
  timeoutSeconds,
  userItem,
  username,
  usersSpec,
  VALID_ATTRIBUTES,
  validNewKey,
  varint,
  varintSpec,
} from "./cases";

// ---- one arbitrary per RPC -------------------------------------------------------------------------------------------

export const GEN_SYM_KEY = message(
  mixed(
    fc.tuple(fc.constantFrom<[number, number]>([31, 16], [31, 24], [31, 32], [21, 24], [16, 1], [16, 64], [16, 3583]), validNewKey, fc.boolean()).map(([[type, size], k, nex]) => ({
      1: varintSpec(1, type),
      2: varintSpec(2, size),
      3: textSpec(3, k.label),
      4: k.id ? textSpec(4, k.id) : [],
      5: varintSpec(5, k.session),
      6: usersSpec(6, k.share),
      7: varintSpec(7, nex),
      8: k.minSrv !== undefined ? varintSpec(8, k.minSrv) : [],
      9: k.timeout !== undefined ? varintSpec(9, k.timeout) : [],
      10: varintSpec(10, k.attest),
      11: k.attest ? bytesSpec(11, bytesOfLength(k.nonceLength)) : [],
    })),
    {
      1: varint(1, keyType),
      2: varint(2, keySize),
      3: text(3, label),
      4: text(4, keyId),
      5: bool(5),
      6: repeated(6, userItem),
      7: bool(7),
      8: varint(8, minSrv),
      9: varint(9, timeoutSeconds),
      10: bool(10),
      11: blob(11, nonce),
    },
  ),
);

export const IMPORT_SYM_KEY = message(
  mixed(
    fc
      .tuple(fc.constantFrom<[number, number]>([31, 16], [31, 24], [31, 32], [21, 24]), fc.constantFrom("plain-W", "plain-mW", "wk-mW"), validNewKey, fc.uint8Array({ minLength: 32, maxLength: 32 }))
      .map(([[type, length], how, k, bytes]) => {
        const material = bytes.subarray(0, length);
        return {
          ...(how === "wk-mW" ? { 2: one({ no: 2, wire: "hostWrapped", material, kek: "mW" }) } : { 1: bytesSpec(1, material) }),
          3: one({ no: 3, wire: "named", name: how === "plain-W" ? "W" : "mW" }),
          4: varintSpec(4, type),
          5: textSpec(5, k.label),
          6: k.id ? textSpec(6, k.id) : [],
          7: varintSpec(7, k.session),
          8: varintSpec(8, k.attest),
          9: k.minSrv !== undefined ? varintSpec(9, k.minSrv) : [],
          10: k.timeout !== undefined ? varintSpec(10, k.timeout) : [],
          11: usersSpec(11, k.share),
          12: k.attest ? bytesSpec(12, bytesOfLength(k.nonceLength)) : [],
        };
      }),
    {
      1: blob(1, keyMaterial),
      2: fc.oneof(blob(2, fc.uint8Array({ maxLength: 64 })), hostWrappedAny(2)),
      3: sensibleHandle(3),
      4: varint(4, keyType),
      5: text(5, label),
      6: text(6, keyId),
      7: bool(7),
      8: bool(8),
      9: varint(9, minSrv),
      10: varint(10, timeoutSeconds),
      11: repeated(11, userItem),
      12: blob(12, nonce),
    },
  ),
);

export const FIND_KEY = message(
  mixed(
    fc
      .record({
        keyClass: fc.option(fc.constant(4)),
        keyType: fc.option(fc.constantFrom(16, 21, 31)),
        label: fc.option(fc.constantFrom("alice-shared", "alice-private", "mallory-key", "mallory-wrapping")),
        id: fc.option(fc.constantFrom("alice-shared-id", "alice-private-id", "")),
        session: fc.option(fc.boolean()),
        shared: fc.subarray(["alice", "mallory", "bob"], { maxLength: 2 }),
        kcv: fc.option(fc.constantFrom<"K" | "P">("K", "P")),
        pageSize: fc.integer({ min: 0, max: 10 }),
        token: fc.boolean(),
      })
      .map((q) => ({
        1: q.keyClass !== null ? varintSpec(1, q.keyClass) : [],
        2: q.keyType !== null ? varintSpec(2, q.keyType) : [],
        3: q.label !== null ? textSpec(3, q.label) : [],
        4: q.id !== null ? textSpec(4, q.id) : [],
        5: q.session !== null ? varintSpec(5, q.session) : [],
        6: usersSpec(6, q.shared),
        7: q.kcv !== null ? one({ no: 7, wire: "kcv", name: q.kcv }) : [],
        8: varintSpec(8, q.pageSize),
        9: q.token ? one({ no: 9, wire: "pageToken" }) : [],
      })),
    {
      1: varint(1, fc.constantFrom(0n, 2n, 3n, 4n, 99n)),
      2: varint(2, keyType),
      3: text(3, label),
      4: text(4, keyId),
      5: bool(5),
      6: repeated(6, userItem),
      7: blob(7, fc.oneof(fc.uint8Array({ minLength: 3, maxLength: 3 }), fc.constantFrom(0, 2, 4).map(bytesOfLength))),
      8: varint(8, fc.constantFrom(0n, 1n, 2n, 5n, 10_000n, 10_001n, -1n, -(1n << 31n), (1n << 31n) - 1n)),
      9: fc.oneof({ weight: 1, arbitrary: fc.constant(one({ no: 9, wire: "pageToken" })) }, { weight: 3, arbitrary: text(9, printable) }),
    },
  ),
);

export const WATCH = message(
  mixed(
    fc
      .tuple(fc.integer({ min: -10, max: 1 }), fc.array(handleSpec(2, "visible"), { maxLength: 3 }), fc.subarray([0, 1, 2]), fc.constantFrom(0, 10, 25), fc.constantFrom(0, 1, 2, 64, 4096), fc.constantFrom(0, 0, 1, 3, 0xffffffff))
      .map(([offset, handles, nodes, progress, batch, until]) => ({
        1: one({ no: 1, wire: "revision", offset }),
        2: handles.flat(),
        3: nodes.flatMap((n) => varintSpec(3, n)),
        4: varintSpec(4, progress),
        5: varintSpec(5, batch),
        6: varintSpec(6, until),
      })),
    {
      1: fc.oneof(
        { weight: 2, arbitrary: fc.integer({ min: -1_000, max: 1_000 }).map((offset) => one({ no: 1, wire: "revision", offset })) },
        { weight: 3, arbitrary: varint(1, fc.constantFrom(0n, 1n, -1n, (1n << 53n) + 1n, (1n << 63n) - 1n)) },
      ),
      2: repeated(2, handleItem),
      3: repeated(3, nodeItem),
      4: varint(4, fc.constantFrom(0n, 1n, 9n, 10n, 25n, 1000n, 0x80000000n, 0xffffffffn)),
      5: varint(5, fc.constantFrom(0n, 1n, 2n, 4096n, 4097n, 0xffffffffn)),
      6: varint(6, fc.constantFrom(0n, 1n, 3n, 0xffffffffn)),
    },
  ),
);

export const LOGIN = fc.oneof(
  // The right password of a user the fuzzer never locks, with the role or the spelling of the name perturbed.
  {
    weight: 1,
    arbitrary: message(
      mixed(fc.constantFrom("loginee", "LOGINEE", "LogInEe").map((u) => ({ 1: varintSpec(1, 1), 2: textSpec(2, u), 3: textSpec(3, TEST_PASSWORD) })), {
        1: varint(1, fc.constantFrom(0n, 1n, 2n, 3n)),
        2: text(2, fc.constantFrom("victim", "nosuchuser", "loginee_")),
      }),
    ),
  },
  // Anything for user names (known ones, unknown ones, malformed ones) and passwords: refusals, lockout.
  {
    weight: 2,
    arbitrary: message(fc.tuple(varint(1, fc.constantFrom(0n, 1n, 2n, 3n)), text(2, username), text(3, password)).map((fs) => fs.flat())),
  },
);

/**
 * User names a reset may act on: never one the fuzzer logs in with (alice, mallory, loginee, the leavers, the officer),
 * so a reset that works changes nothing the other cases rely on.
 */
export const resetTarget = fc.oneof(fc.constantFrom("victim", "VICTIM", "bob", "nosuchuser", "x".repeat(31), "x".repeat(32), "a b", "\u00fcn\u00efcode", ""), fc.stringMatching(/^zz_[A-Za-z0-9_]{0,28}$/));
/** UnlockUser and ChangeUserPassword: field 1 the user name, field 2 the new password (empty: unlock only, for UnlockUser). */
export const RESET_USER = message(
  mixed(fc.tuple(fc.constantFrom("victim", "bob"), fc.stringMatching(/^[!-~]{8,32}$/)).map(([name, pass]) => ({ 1: textSpec(1, name), 2: textSpec(2, pass) })), {
    1: text(1, resetTarget),
    2: text(2, password),
  }),
);

export const CREATE_USER = message(
  mixed(
    fc.tuple(fc.constantFrom(1, 2), fc.stringMatching(/^fz_[A-Za-z0-9_]{1,28}$/), fc.stringMatching(/^[!-~]{8,32}$/)).map(([type, name, pass]) => ({
      1: varintSpec(1, type),
      2: textSpec(2, name),
      3: textSpec(3, pass),
    })),
    { 1: varint(1, fc.constantFrom(0n, 1n, 2n, 3n)), 2: text(2, username), 3: text(3, password) },
  ),
);

// ---- Encrypt, Decrypt, Mac, VerifyMac ----------------------------------------------------------------------------------

/** The IV length each CipherMechanism takes (0: none; GCM's is the HSM's on Encrypt and 12 bytes on Decrypt). */
const MECHANISM_IV: Readonly<Record<number, number>> = { 1: 0, 2: 16, 3: 16, 4: 16, 5: 0, 6: 8, 7: 8, 8: 0 };
const cipherMechanism = fc.constantFrom(0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 0xffffffffn);
const hashAlgorithm = fc.constantFrom(0n, 1n, 2n, 3n, 4n, 5n, 6n, 0xffffffffn);
/** Data around the block sizes and the 65536-byte limit. */
const cipherData = fc.oneof(fc.constantFrom(0, 1, 7, 8, 15, 16, 17, 24, 32, 65536, 65537, 65552, 65553).map(bytesOfLength), fc.uint8Array({ maxLength: 80 }));
const ivBytes = fc.constantFrom(0, 1, 8, 11, 12, 13, 16, 17).map(bytesOfLength);
const tagBytes = fc.constantFrom(0, 8, 11, 12, 16, 17).map(bytesOfLength);

const validCipher = fc.tuple(handleSpec(1, "visible"), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 4 }), fc.boolean(), fc.constantFrom(0, 12, 16));

export const ENCRYPT = message(
  mixed(
    validCipher.map(([handle, mechanism, blocks, withAad, tagLength]) => ({
      1: handle,
      2: varintSpec(2, mechanism),
      3: bytesSpec(3, bytesOfLength(blocks * 16)),
      4: MECHANISM_IV[mechanism] ? bytesSpec(4, bytesOfLength(MECHANISM_IV[mechanism])) : [],
      5: mechanism === 1 && withAad ? bytesSpec(5, bytesOfLength(8)) : [],
      6: mechanism === 1 && tagLength ? varintSpec(6, tagLength) : [],
    })),
    { 1: sensibleHandle(1), 2: varint(2, cipherMechanism), 3: blob(3, cipherData), 4: blob(4, ivBytes), 5: blob(5, cipherData), 6: varint(6, fc.constantFrom(0n, 11n, 12n, 16n, 17n)), 7: varint(7, hashAlgorithm) },
  ),
);

export const DECRYPT = message(
  mixed(
    validCipher.map(([handle, mechanism, blocks, withAad, tagLength]) => ({
      1: handle,
      2: varintSpec(2, mechanism),
      3: bytesSpec(3, bytesOfLength(blocks * 16)),
      4: mechanism === 1 ? bytesSpec(4, bytesOfLength(12)) : MECHANISM_IV[mechanism] ? bytesSpec(4, bytesOfLength(MECHANISM_IV[mechanism])) : [],
      5: mechanism === 1 && withAad ? bytesSpec(5, bytesOfLength(8)) : [],
      6: mechanism === 1 ? bytesSpec(6, bytesOfLength(tagLength || 16)) : [],
    })),
    { 1: sensibleHandle(1), 2: varint(2, cipherMechanism), 3: blob(3, cipherData), 4: blob(4, ivBytes), 5: blob(5, cipherData), 6: blob(6, tagBytes), 7: varint(7, hashAlgorithm) },
  ),
);

// Alice's shared HMAC key half the time, so most valid cases reach the MAC itself.
const macHandle = fc.oneof(handleSpec(1, "visible"), fc.constant(one({ no: 1, wire: "named", name: "H" })));
const validMac = fc.tuple(macHandle, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 100 }));
const MAC_LENGTH: Readonly<Record<number, number>> = { 1: 20, 2: 28, 3: 32, 4: 48, 5: 64 };

export const MAC = message(
  mixed(validMac.map(([handle, hash, length]) => ({ 1: handle, 2: varintSpec(2, hash), 3: bytesSpec(3, bytesOfLength(length)) })), {
    1: sensibleHandle(1),
    2: varint(2, hashAlgorithm),
    3: blob(3, cipherData),
  }),
);

export const VERIFY_MAC = message(
  mixed(
    validMac.map(([handle, hash, length]) => ({ 1: handle, 2: varintSpec(2, hash), 3: bytesSpec(3, bytesOfLength(length)), 4: bytesSpec(4, bytesOfLength(MAC_LENGTH[hash]!)) })),
    { 1: sensibleHandle(1), 2: varint(2, hashAlgorithm), 3: blob(3, cipherData), 4: blob(4, fc.constantFrom(0, 19, 20, 28, 32, 48, 64, 65).map(bytesOfLength)) },
  ),
);

// ---- key pairs, sign and verify -----------------------------------------------------------------------------------

/** Keys made outside the HSM for the imports: EC P-256 and RSA-2048, PEM and PKCS#8 DER. */
const OUTSIDE = [generateKeyPairSync("ec", { namedCurve: "prime256v1" }), generateKeyPairSync("rsa", { modulusLength: 2048 })];
const PUBLIC_PEMS = OUTSIDE.map((k) => k.publicKey.export({ format: "pem", type: "spki" }).toString());
const PRIVATE_PEMS = OUTSIDE.map((k) => k.privateKey.export({ format: "pem", type: "pkcs8" }).toString());
const PRIVATE_DERS = OUTSIDE.map((k) => new Uint8Array(k.privateKey.export({ format: "der", type: "pkcs8" })));
const pemLike = fc.oneof(
  fc.constantFrom(...PUBLIC_PEMS, ...PRIVATE_PEMS, "", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
  fc.constantFrom(...PUBLIC_PEMS, ...PRIVATE_PEMS).chain((pem) => fc.nat({ max: pem.length }).map((cut) => pem.slice(0, cut))),
  printable,
);

/** Mostly EC (cheap to generate); RSA-2048 now and then. [key_type, modulus_bits, curve] */
const pairKinds = fc.constantFrom<[number, number, number]>([3, 0, 1], [3, 0, 2], [3, 0, 3], [3, 0, 4], [0, 2048, 0]);

export const GENERATE_KEY_PAIR = message(
  mixed(
    fc.tuple(pairKinds, validNewKey, fc.boolean()).map(([[type, bits, curve], k, nex]) => ({
      1: varintSpec(1, type),
      2: bits ? varintSpec(2, bits) : [],
      4: curve ? varintSpec(4, curve) : [],
      5: textSpec(5, k.label),
      6: k.id ? textSpec(6, k.id) : [],
      7: varintSpec(7, k.session),
      8: usersSpec(8, k.share),
      9: varintSpec(9, nex),
      10: k.minSrv !== undefined ? varintSpec(10, k.minSrv) : [],
      11: k.timeout !== undefined ? varintSpec(11, k.timeout) : [],
      12: varintSpec(12, k.attest),
      13: k.attest ? bytesSpec(13, bytesOfLength(k.nonceLength)) : [],
    })),
    {
      1: varint(1, keyType),
      // Never 3072 or 4096: each would cost seconds of key generation per case.
      2: varint(2, fc.constantFrom(0n, 1024n, 2047n, 2049n, 8192n, 0xffffffffn)),
      3: varint(3, fc.constantFrom(0n, 3n, 65537n, 65539n, 0xffffffffn)),
      4: varint(4, fc.constantFrom(0n, 1n, 4n, 5n, 99n)),
      5: text(5, label),
      6: text(6, keyId),
      7: bool(7),
      8: repeated(8, userItem),
      9: bool(9),
      10: varint(10, minSrv),
      11: varint(11, timeoutSeconds),
      12: bool(12),
      13: blob(13, nonce),
    },
  ),
);

const hashes = fc.constantFrom(0n, 1n, 2n, 3n, 4n, 5n, 6n);
const digests = fc.constantFrom(20, 28, 32, 48, 64).map((n) => new Uint8Array(createHash("sha512").update(String(n)).digest().subarray(0, n)));

/** Sign's fields 1-7; Verify adds the signature (field 8). */
function signFields(verify: boolean): fc.Arbitrary<Body> {
  return message(
    mixed(
      fc
        .tuple(handleSpec(1, "visible"), fc.constantFrom(1, 2, 3), fc.constantFrom(3, 4, 5), fc.boolean(), fc.uint8Array({ maxLength: 256 }), fc.constantFrom(0, 1, 2), fc.uint8Array({ minLength: 64, maxLength: 64 }))
        .map(([handle, mechanism, hash, prehashed, data, encoding, signature]) => {
          const fields: Record<number, Spec[]> = { 1: handle, 2: varintSpec(2, mechanism), 3: varintSpec(3, hash), 7: varintSpec(7, encoding) };
          if (prehashed) fields[5] = bytesSpec(5, createHash(["", "", "", "sha256", "sha384", "sha512"][hash]!).update(data).digest());
          else fields[4] = bytesSpec(4, data);
          if (verify) fields[8] = bytesSpec(8, signature);
          return fields;
        }),
      {
        1: sensibleHandle(1),
        2: varint(2, fc.constantFrom(0n, 1n, 2n, 3n, 4n, 0xffffffffn)),
        3: varint(3, hashes),
        4: blob(4, fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(65536, 65537).map(bytesOfLength))),
        5: blob(5, fc.oneof(digests, fc.uint8Array({ maxLength: 70 }))),
        6: varint(6, fc.constantFrom(0n, 20n, 32n, 64n, 222n, 223n, 0xffffffffn)),
        7: varint(7, fc.constantFrom(0n, 1n, 2n, 3n)),
        ...(verify ? { 8: blob(8, fc.oneof(fc.uint8Array({ maxLength: 130 }), fc.constantFrom(0, 64, 256, 512, 513).map(bytesOfLength))) } : {}),
      } as Record<number, fc.Arbitrary<Spec[]>>,
    ),
  );
}

export const IMPORT_PUBLIC_KEY = message(
  mixed(
    fc.tuple(fc.constantFrom(...PUBLIC_PEMS), validNewKey).map(([pem, k]) => ({
      1: textSpec(1, pem),
      2: textSpec(2, k.label),
      3: k.id ? textSpec(3, k.id) : [],
      4: varintSpec(4, k.session),
      5: usersSpec(5, k.share),
      6: k.minSrv !== undefined ? varintSpec(6, k.minSrv) : [],
      7: k.timeout !== undefined ? varintSpec(7, k.timeout) : [],
    })),
    { 1: text(1, pemLike), 2: text(2, label), 3: text(3, keyId), 4: bool(4), 5: repeated(5, userItem), 6: varint(6, minSrv), 7: varint(7, timeoutSeconds) },
  ),
);

export const IMPORT_PRIVATE_KEY = message(
  mixed(
    fc.tuple(fc.constantFrom(0, 1), fc.constantFrom("pem-mW", "pem-W", "wk-mW"), validNewKey).map(([which, how, k]) => ({
      ...(how === "wk-mW" ? { 2: one({ no: 2, wire: "hostWrapped", material: PRIVATE_DERS[which]!, kek: "mW" }) } : { 1: textSpec(1, PRIVATE_PEMS[which]!) }),
      3: one({ no: 3, wire: "named", name: how === "pem-W" ? "W" : "mW" }),
      4: textSpec(4, k.label),
      5: k.id ? textSpec(5, k.id) : [],
      6: varintSpec(6, k.session),
      7: usersSpec(7, k.share),
      8: k.minSrv !== undefined ? varintSpec(8, k.minSrv) : [],
      9: k.timeout !== undefined ? varintSpec(9, k.timeout) : [],
      10: varintSpec(10, k.attest),
      11: k.attest ? bytesSpec(11, bytesOfLength(k.nonceLength)) : [],
    })),
    {
      1: text(1, pemLike),
      2: fc.oneof(blob(2, fc.uint8Array({ maxLength: 64 })), hostWrappedAny(2)),
      3: sensibleHandle(3),
      4: text(4, label),
      5: text(5, keyId),
      6: bool(6),
      7: repeated(7, userItem),
      8: varint(8, minSrv),
      9: varint(9, timeoutSeconds),
      10: bool(10),
      11: blob(11, nonce),
    },
  ),
);

/** Valid values from `valid` for each field, perturbed by `any`. */
export function simple(fields: Record<number, { valid: fc.Arbitrary<Spec[]>; any: fc.Arbitrary<Spec[]> }>): fc.Arbitrary<Body> {
  const numbers = Object.keys(fields).map(Number);
  const valid = fc.tuple(...numbers.map((no) => fields[no]!.valid)).map((vs) => Object.fromEntries(numbers.map((no, i) => [no, vs[i]!])) as Record<number, Spec[]>);
  return message(mixed(valid, Object.fromEntries(numbers.map((no) => [no, fields[no]!.any]))));
}
export const node = (no: number) => ({ valid: fc.constantFrom(0, 1, 2).map((n) => varintSpec(no, n)), any: varint(no, fc.constantFrom(0n, 1n, 2n, 3n)) });
export const flag = (no: number) => ({ valid: fc.boolean().map((b) => varintSpec(no, b)), any: bool(no) });
export const handleIn = (no: number, from: HandleSource) => ({ valid: handleSpec(no, from), any: sensibleHandle(no) });

export const RPCS: Record<string, { body: fc.Arbitrary<Body>; creds: fc.Arbitrary<Cred> }> = {
  "HsmService/Login": { body: LOGIN, creds: fc.constantFrom<Cred>("none", "garbage", "mallory") },
  "HsmService/Logout": { body: message(), creds: fc.oneof({ weight: 2, arbitrary: fc.constant<Cred>("fresh") }, { weight: 1, arbitrary: fc.constantFrom<Cred>("none", "garbage", "scheme", "loggedOut") }) },
  "HsmService/GenSymKey": { body: GEN_SYM_KEY, creds: hsmCreds },
  "HsmService/ImportSymKey": { body: IMPORT_SYM_KEY, creds: hsmCreds },
  "HsmService/GetAttribute": { body: simple({ 1: handleIn(1, "visible"), 2: { valid: fc.constantFrom(...VALID_ATTRIBUTES).map((a) => varintSpec(2, a)), any: varint(2, attributeId) } }), creds: hsmCreds },
  "HsmService/FindKey": { body: FIND_KEY, creds: hsmCreds },
  "HsmService/ShareKey": {
    body: simple({
      1: handleIn(1, "mine"),
      2: { valid: fc.subarray(["alice", "bob"], { minLength: 1 }).map((names) => usersSpec(2, names)), any: repeated(2, userItem) },
      3: flag(3),
    }),
    creds: hsmCreds,
  },
  "HsmService/WatchSyncStatus": { body: WATCH, creds: hsmCreds },
  "HsmService/WrapKey": { body: simple({ 1: handleIn(1, "mine"), 2: { valid: fc.constantFrom<KeyName>("mW", "W").map((name) => one({ no: 2, wire: "named", name })), any: sensibleHandle(2) } }), creds: hsmCreds },
  "HsmService/UnwrapHostKey": {
    body: message(
      mixed(
        fc.tuple(fc.constantFrom<"mW" | "W">("mW", "W"), fc.uint8Array({ minLength: 16, maxLength: 32 })).map(([kek, material]) => ({
          1: one({ no: 1, wire: "named", name: kek }),
          2: one({ no: 2, wire: "hostWrapped", material, kek }),
        })),
        { 1: sensibleHandle(1), 2: fc.oneof(blob(2, fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(4096, 4097, 4104, 100_000).map(bytesOfLength))), hostWrappedAny(2)) },
      ),
    ),
    creds: hsmCreds,
  },
  "HsmService/SetAttribute": {
    body: simple({
      1: handleIn(1, "mine"),
      2: { valid: fc.constant(varintSpec(2, 1)), any: varint(2, attributeId) },
      3: { valid: fc.constant(varintSpec(3, 1)), any: varint(3, fc.constantFrom(0n, 1n, 2n, 0xffffffffn)) },
    }),
    creds: hsmCreds,
  },
  "HsmService/DeleteKey": { body: simple({ 1: handleIn(1, "created") }), creds: hsmCreds },
  "HsmService/GetKeyInfo": { body: simple({ 1: handleIn(1, "visible") }), creds: hsmCreds },
  "HsmService/ListHsmUsers": { body: message(), creds: hsmCreds },
  "HsmService/GenerateKeyPair": { body: GENERATE_KEY_PAIR, creds: hsmCreds },
  "HsmService/Sign": { body: signFields(false), creds: hsmCreds },
  "HsmService/Verify": { body: signFields(true), creds: hsmCreds },
  "HsmService/ImportPublicKey": { body: IMPORT_PUBLIC_KEY, creds: hsmCreds },
  "HsmService/ImportPrivateKey": { body: IMPORT_PRIVATE_KEY, creds: hsmCreds },
  "HsmService/ExportPublicKey": { body: simple({ 1: handleIn(1, "visible") }), creds: hsmCreds },
  "HsmService/ExportPrivateKey": {
    body: simple({
      1: handleIn(1, "mine"),
      2: { valid: fc.constantFrom<KeyName>("mW", "W").map((name) => one({ no: 2, wire: "named", name })), any: sensibleHandle(2) },
      3: { valid: fc.constantFrom(0, 4).map((m) => varintSpec(3, m)), any: varint(3, fc.constantFrom(0n, 4n, 5n, 6n, 99n)) },
    }),
    creds: hsmCreds,
  },
  "HsmService/GetAttestationKeys": { body: message(), creds: hsmCreds },
  // Mostly the officer here: only a crypto officer's session may change a password.
  "HsmService/ChangeUserPassword": { body: RESET_USER, creds: fc.oneof({ weight: 3, arbitrary: fc.constant<Cred>("officer") }, { weight: 1, arbitrary: hsmCreds }) },
  "HsmService/Encrypt": { body: ENCRYPT, creds: hsmCreds },
  "HsmService/Decrypt": { body: DECRYPT, creds: hsmCreds },
  "HsmService/Mac": { body: MAC, creds: hsmCreds },
  "HsmService/VerifyMac": { body: VERIFY_MAC, creds: hsmCreds },
  "AdminService/CreateUser": { body: CREATE_USER, creds: adminCreds },
  "AdminService/ListUsers": { body: message(), creds: adminCreds },
  "AdminService/UnlockUser": { body: RESET_USER, creds: adminCreds },
  "ClusterControlService/ListNodes": { body: message(), creds: adminCreds },
  "ClusterControlService/SetNodeState": {
    body: simple({ 1: node(1), 2: { valid: fc.constantFrom(1, 2, 3).map((n) => varintSpec(2, n)), any: varint(2, fc.constantFrom(0n, 1n, 2n, 3n, 4n)) } }),
    creds: adminCreds,
  },
  "ClusterControlService/SetReplicationDelay": {
    body: simple({ 1: node(1), 2: { valid: fc.integer({ min: 0, max: 200 }).map((n) => varintSpec(2, n)), any: varint(2, fc.constantFrom(0n, 1n, 20n, 600_000n, 600_001n, 0xffffffffn)) } }),
    creds: adminCreds,
  },
  "ClusterControlService/SetReplicationPaused": { body: simple({ 1: flag(1) }), creds: adminCreds },
  "ClusterControlService/SetFirmwareTampered": { body: simple({ 1: node(1), 2: flag(2) }), creds: adminCreds },
};

/** RPCs that only a crypto user's own session may use successfully. */
export const KEY_RPCS = new Set([
  "GenSymKey",
  "ImportSymKey",
  "GetAttribute",
  "FindKey",
  "ShareKey",
  "WrapKey",
  "UnwrapHostKey",
  "SetAttribute",
  "DeleteKey",
  "GetKeyInfo",
  "GenerateKeyPair",
  "Sign",
  "Verify",
  "ImportPublicKey",
  "ImportPrivateKey",
  "ExportPublicKey",
  "ExportPrivateKey",
  "Encrypt",
  "Decrypt",
  "Mac",
  "VerifyMac",
]);
