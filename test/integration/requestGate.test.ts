// The request gate over real gRPC: oversized requests get RESOURCE_EXHAUSTED REQUEST_TOO_LARGE, bytes that are not
// the method's protobuf message get INVALID_ARGUMENT REQUEST_INVALID, and nothing ever answers INTERNAL.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { adminProto, HsmClient, HsmClientError, hsmProto, KEY_TYPE, UserType } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { expectRefusedCreatingNothing } from "../support/keyCensus";
import { rawUnary } from "../support/rawGrpc";
import { TEST_ADMIN_SECRET, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { prng } from "../support/prng";

const S = grpc.status;
const MAX = 1024;

const HSM_METHODS = ["Login", "Logout", "GenSymKey", "ImportSymKey", "GetAttribute", "FindKey"].map((m) => `/localcloudhsm.v1.HsmService/${m}`);
const ADMIN_METHODS = ["CreateUser", "ListUsers"].map((m) => `/localcloudhsm.v1.AdminService/${m}`);

/** Byte strings no protobuf decoder accepts. */
const MALFORMED: [string, Buffer][] = [
  ["an over-long varint tag", Buffer.alloc(11, 0xff)],
  ["a truncated varint", Buffer.from([0x08])],
  ["a length past the end", Buffer.from([0x0a, 0x10, 0x01])],
  ["wire type 7", Buffer.from([0x0f, 0x00])],
  ["wire type 6", Buffer.from([0x0e])],
];

describe("request gate", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let wrappingKey: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start({ maxMessageBytes: MAX }));
    wrappingKey = await alice.createWrappingKey();
  });

  describe(`maxMessageBytes ${MAX}`, () => {
    test("a 2 KiB ImportSymKey -> RESOURCE_EXHAUSTED REQUEST_TOO_LARGE with max_bytes; nothing created", async () => {
      const err = await expectRefusedCreatingNothing(
        t,
        alice,
        () => alice.importSymKey(randomBytes(2048), { wrappingKey, label: "too-large" }),
        S.RESOURCE_EXHAUSTED,
        "REQUEST_TOO_LARGE",
      );
      expect(err.metadata.max_bytes).toBe(String(MAX));
      expect(Number(err.metadata.size_bytes)).toBeGreaterThan(2048);
      expect(err.metadata.kmu_return_code).toBe("0x21");
    });

    test("the size check comes first: a 2 KiB label is too large, not an invalid label", async () => {
      await expectRefusedCreatingNothing(
        t,
        alice,
        () => alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "l".repeat(2048) }),
        S.RESOURCE_EXHAUSTED,
        "REQUEST_TOO_LARGE",
      );
    });

    test("it applies before authentication and on the admin service", async () => {
      await expectRpcError(t.client().login("alice", "p".repeat(2048)), S.RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE");
      await expectRpcError(t.admin.createUser("biggie", "p".repeat(2048)), S.RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE");
      expect((await t.admin.listUsers()).users.map((u) => u.username)).not.toContain("biggie");
    });

    test("exactly max bytes passes the gate, one byte more does not", async () => {
      const loginOfSize = (size: number): Buffer => {
        const base = hsmProto.LoginRequest.encode({ userType: UserType.USER_TYPE_CU, username: "", password: TEST_PASSWORD }).finish().length;
        // username: 1 tag byte + 2 length bytes (lengths 128-16383) + n bytes
        const body = Buffer.from(hsmProto.LoginRequest.encode({ userType: UserType.USER_TYPE_CU, username: "u".repeat(size - base - 3), password: TEST_PASSWORD }).finish());
        expect(body.length).toBe(size);
        return body;
      };
      const path = "/localcloudhsm.v1.HsmService/Login";
      await expectRpcError(rawUnary(alice.raw, path, loginOfSize(MAX)), S.UNAUTHENTICATED, "LOGIN_FAILED");
      const err = await expectRpcError(rawUnary(alice.raw, path, loginOfSize(MAX + 1)), S.RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE");
      expect(err.metadata).toMatchObject({ size_bytes: String(MAX + 1), max_bytes: String(MAX) });
    });

    test("far above the transport cap (16 MiB) grpc-js itself refuses with RESOURCE_EXHAUSTED", async () => {
      let caught: unknown;
      try {
        await rawUnary(alice.raw, "/localcloudhsm.v1.HsmService/FindKey", Buffer.alloc(17 * 1024 * 1024), alice.metadata());
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(HsmClientError);
      expect(grpc.status[(caught as HsmClientError).code]).toBe("RESOURCE_EXHAUSTED");
    });
  });

  describe("bytes that are not the method's message", () => {
    test.each(MALFORMED)("%s -> INVALID_ARGUMENT REQUEST_INVALID on every method", async (_name, body) => {
      const adminMd = new grpc.Metadata();
      adminMd.set("x-admin-secret", TEST_ADMIN_SECRET);
      for (const path of HSM_METHODS) {
        const err = await expectRefusedCreatingNothing(t, alice, () => rawUnary(alice.raw, path, body, alice.metadata()), S.INVALID_ARGUMENT, "REQUEST_INVALID");
        expect(err.metadata).toMatchObject({ kmu_return_code: "0x07", size_bytes: String(body.length) });
      }
      for (const path of ADMIN_METHODS) {
        await expectRpcError(rawUnary(t.admin.raw, path, body, adminMd), S.INVALID_ARGUMENT, "REQUEST_INVALID");
      }
    });

    test("random bytes (seeded) on every method are never INTERNAL and always carry an ErrorInfo", async () => {
      // A session of its own: some random bodies decode as a valid Logout (or even GenSymKey) request.
      const fuzzer = await t.loggedInCu("fuzzer");
      const random = prng(0x5eed);
      const adminMd = new grpc.Metadata();
      adminMd.set("x-admin-secret", TEST_ADMIN_SECRET);
      const seen = new Map<string, number>();
      for (let i = 0; i < 25; i++) {
        const body = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
        for (const path of [...HSM_METHODS, ...ADMIN_METHODS]) {
          const md = path.includes("AdminService") ? adminMd : fuzzer.metadata();
          const client = path.includes("AdminService") ? t.admin.raw : fuzzer.raw;
          const outcome = await rawUnary(client, path, body, md).then(
            () => "OK",
            (err: HsmClientError) => {
              expect(err).toBeInstanceOf(HsmClientError);
              expect(err.code).not.toBe(S.INTERNAL);
              expect(err.code).not.toBe(S.UNKNOWN);
              expect(err.metadata.kmu_return_code).toBeDefined();
              return err.reason;
            },
          );
          seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        }
      }
      expect(seen.get("REQUEST_INVALID")).toBeGreaterThan(0);
      expect(seen.has("INTERNAL")).toBe(false);
    });

    test("a valid message of another method's type is decoded as this method's, never INTERNAL", async () => {
      const findBody = Buffer.from(hsmProto.FindKeyRequest.encode({ sharedWithUserIds: [], label: "x", pageSize: 5, pageToken: "t" }).finish());
      const createBody = Buffer.from(adminProto.CreateUserRequest.encode({ userType: UserType.USER_TYPE_CU, username: "x", password: "y" }).finish());
      for (const body of [findBody, createBody]) {
        await rawUnary(alice.raw, "/localcloudhsm.v1.HsmService/ImportSymKey", body, alice.metadata()).catch((err: HsmClientError) => {
          expect(err.code).not.toBe(S.INTERNAL);
          expect(err.metadata.kmu_return_code).toBeDefined();
        });
      }
    });
  });
});
