// AdminService over real gRPC: the admin secret guard, CreateUser rules and refusals, ListUsers.
import * as grpc from "@grpc/grpc-js";
import { AdminClient, adminProto, UserType } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { unaryWith } from "../support/rawGrpc";
import { startTestDaemon, TEST_ADMIN_SECRET, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";

const S = grpc.status;

describe("AdminService", () => {
  let t: TestDaemon;
  let raw: adminProto.AdminServiceClient;
  const opened: AdminClient[] = [];

  beforeAll(async () => {
    t = await startTestDaemon();
    raw = new adminProto.AdminServiceClient(t.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    for (const c of opened) c.close();
    raw.close();
    await t.close();
  });

  const adminWith = (secret: string): AdminClient => {
    const c = new AdminClient(t.address, secret);
    opened.push(c);
    return c;
  };
  const users = async () => (await t.admin.listUsers()).users;
  /** Expects the call to be refused and the user list to be unchanged. */
  const refusedCreatingNoUser = async (call: () => Promise<unknown>, code: grpc.status, reason: string) => {
    const before = await users();
    const err = await expectRpcError(call(), code, reason);
    expect(await users()).toEqual(before);
    return err;
  };

  describe("admin secret", () => {
    const createRequest: adminProto.CreateUserRequest = { userType: UserType.USER_TYPE_CU, username: "intruder", password: TEST_PASSWORD };

    test("CreateUser and ListUsers without x-admin-secret -> UNAUTHENTICATED ADMIN_SECRET_INVALID (0x104)", async () => {
      const err = await refusedCreatingNoUser(
        () => unaryWith(raw.createUser.bind(raw), createRequest, new grpc.Metadata()),
        S.UNAUTHENTICATED,
        "ADMIN_SECRET_INVALID",
      );
      expect(err.metadata.kmu_return_code).toBe("0x104");
      await expectRpcError(unaryWith(raw.listUsers.bind(raw), {}, new grpc.Metadata()), S.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
    });

    test.each([
      ["a wrong secret", "not-the-admin-secret-at-all"],
      ["the secret in upper case", TEST_ADMIN_SECRET.toUpperCase()],
      ["a prefix of the secret", TEST_ADMIN_SECRET.slice(0, -1)],
      ["the secret plus a character", `${TEST_ADMIN_SECRET}x`],
      ["an empty secret", ""],
    ])("%s -> UNAUTHENTICATED ADMIN_SECRET_INVALID", async (_name, secret) => {
      const admin = adminWith(secret);
      await refusedCreatingNoUser(() => admin.createUser("intruder", TEST_PASSWORD), S.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
      await expectRpcError(admin.listUsers(), S.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
    });

    test("a session token does not open the admin service", async () => {
      const alice = await t.loggedInCu("tokenholder");
      await expectRpcError(unaryWith(raw.listUsers.bind(raw), {}, alice.metadata()), S.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
    });

    test("the secret is checked before the request: a bad request without the secret still says ADMIN_SECRET_INVALID", async () => {
      await expectRpcError(
        unaryWith(raw.createUser.bind(raw), { userType: UserType.USER_TYPE_UNSPECIFIED, username: "", password: "" }, new grpc.Metadata()),
        S.UNAUTHENTICATED,
        "ADMIN_SECRET_INVALID",
      );
    });
  });

  describe("CreateUser and ListUsers", () => {
    test("creates a CU and a CO, lower-cases names, lists users in id order without secrets", async () => {
      const cu = (await t.admin.createUser("Mixed_Case_1", TEST_PASSWORD)).user!;
      const co = (await t.admin.createUser("officer", TEST_PASSWORD, UserType.USER_TYPE_CO)).user!;
      expect(cu).toEqual({ userId: cu.userId, userType: UserType.USER_TYPE_CU, username: "mixed_case_1", loginFailureCount: 0, locked: false });
      expect(co).toMatchObject({ userType: UserType.USER_TYPE_CO, username: "officer" });
      expect(co.userId).toBeGreaterThan(cu.userId);

      const listed = await users();
      const ids = listed.map((u) => u.userId);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(listed).toEqual(expect.arrayContaining([cu, co]));
      expect(JSON.stringify(listed)).not.toContain(TEST_PASSWORD);
      expect(JSON.stringify(listed)).not.toContain("scrypt");
    });

    test("the boundaries are accepted: 31-character names, 8 and 32-character passwords", async () => {
      await t.admin.createUser("n".repeat(31), "p".repeat(8));
      await t.admin.createUser("Under_score_9", "p".repeat(32));
      const c = t.client();
      await c.login("n".repeat(31), "p".repeat(8));
    });

    test("a duplicate name, also in another case or as another role -> ALREADY_EXISTS USER_ALREADY_EXISTS (0x103)", async () => {
      await t.admin.createUser("dupe", TEST_PASSWORD);
      const err = await refusedCreatingNoUser(() => t.admin.createUser("dupe", "other-password"), S.ALREADY_EXISTS, "USER_ALREADY_EXISTS");
      expect(err.metadata.kmu_return_code).toBe("0x103");
      await refusedCreatingNoUser(() => t.admin.createUser("DUPE", TEST_PASSWORD), S.ALREADY_EXISTS, "USER_ALREADY_EXISTS");
      await refusedCreatingNoUser(() => t.admin.createUser("Dupe", TEST_PASSWORD, UserType.USER_TYPE_CO), S.ALREADY_EXISTS, "USER_ALREADY_EXISTS");
    });

    test("two concurrent creates of one name: exactly one wins", async () => {
      const outcomes = await Promise.allSettled([t.admin.createUser("racer", TEST_PASSWORD), t.admin.createUser("RACER", TEST_PASSWORD)]);
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      expect((await users()).filter((u) => u.username === "racer")).toHaveLength(1);
    });

    test.each([
      ["empty", ""],
      ["32 characters", "u".repeat(32)],
      ["a space", "with space"],
      ["a dash", "dash-name"],
      ["a dot", "dot.name"],
      ["non-ASCII letters", "ünïcode"],
      ["a newline", "name\n"],
    ])("a user name with %s -> INVALID_ARGUMENT USERNAME_INVALID", async (_name, username) => {
      const err = await refusedCreatingNoUser(() => t.admin.createUser(username, TEST_PASSWORD), S.INVALID_ARGUMENT, "USERNAME_INVALID");
      expect(err.metadata.kmu_return_code).toBe("0x07");
    });

    test.each([
      ["empty", ""],
      ["7 characters", "p".repeat(7)],
      ["33 characters", "p".repeat(33)],
    ])("a password that is %s -> INVALID_ARGUMENT PASSWORD_INVALID", async (_name, password) => {
      const err = await refusedCreatingNoUser(() => t.admin.createUser("goodname", password), S.INVALID_ARGUMENT, "PASSWORD_INVALID");
      expect(err.metadata.kmu_return_code).toBe("0x07");
    });

    test("no user type -> INVALID_ARGUMENT REQUEST_INVALID", async () => {
      await refusedCreatingNoUser(() => t.admin.createUser("typeless", TEST_PASSWORD, UserType.USER_TYPE_UNSPECIFIED), S.INVALID_ARGUMENT, "REQUEST_INVALID");
    });
  });
});
