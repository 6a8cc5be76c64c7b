// The wire contract without ts-proto: a client built at run time from the .proto files alone, and a failure's
// grpc-status-details-bin decoded by hand with protobufjs.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { decodeStatusDetails, DynamicClient, dynamicUnary, loadLocalCloudHsmPackage } from "../support/grpcDynamic";
import { aesKcv } from "../support/kcv";
import { startTestDaemon, TEST_ADMIN_SECRET, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";

describe("wire contract (proto-loader dynamic client)", () => {
  let t: TestDaemon;
  let admin: DynamicClient;
  let hsm: DynamicClient;

  beforeAll(async () => {
    t = await startTestDaemon();
    const v1 = loadLocalCloudHsmPackage();
    admin = new v1.AdminService!(t.address, grpc.credentials.createInsecure());
    hsm = new v1.HsmService!(t.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    admin.close();
    hsm.close();
    await t.close();
  });

  test("create a user, log in, genSymKey, import a key, read its KCV, find it; decode a failure by hand", async () => {
    const adminMd = new grpc.Metadata();
    adminMd.set("x-admin-secret", TEST_ADMIN_SECRET);
    const created = await dynamicUnary<{ user: { user_id: number; user_type: string; username: string } }>(
      admin,
      "CreateUser",
      { user_type: "USER_TYPE_CU", username: "Wire_User", password: TEST_PASSWORD },
      adminMd,
    );
    expect(created.user).toMatchObject({ user_type: "USER_TYPE_CU", username: "wire_user" });

    const login = await dynamicUnary<{ session_token: string; user_id: number; node_statuses: unknown[] }>(hsm, "Login", {
      user_type: "USER_TYPE_CU",
      username: "wire_user",
      password: TEST_PASSWORD,
    });
    expect(login.user_id).toBe(created.user.user_id);
    expect(login.session_token).not.toBe("");
    const md = () => {
      const m = new grpc.Metadata();
      m.set("authorization", `Bearer ${login.session_token}`);
      return m;
    };

    const gen = await dynamicUnary<{ key_handle: number; steps: { name: string; return_code: number }[] }>(
      hsm,
      "GenSymKey",
      { key_type: 31, key_size: 32, label: "wire-wrapping-key" },
      md(),
    );
    expect(gen.key_handle).toBeGreaterThanOrEqual(6);
    expect(gen.steps.map((s) => [s.name, s.return_code])).toEqual([["Cfm3GenerateSymmetricKey", 0]]);

    const material = randomBytes(32);
    const imported = await dynamicUnary<{ key_handle: number; steps: { name: string }[] }>(
      hsm,
      "ImportSymKey",
      { key_material: material, wrapping_key_handle: gen.key_handle, key_type: 31, label: "wire-imported", id: "wire-id" },
      md(),
    );
    expect(imported.steps.map((s) => s.name)).toEqual(["Cfm3WrapHostKey", "Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);

    const kcv = await dynamicUnary<{ key_handle: number; attributes: { attribute_id: number; name: string; value: string; bytes_value: Buffer; text: string }[] }>(
      hsm,
      "GetAttribute",
      { key_handle: imported.key_handle, attribute_id: 371 },
      md(),
    );
    expect(kcv.attributes).toHaveLength(1);
    expect(kcv.attributes[0]).toMatchObject({ attribute_id: 371, name: "OBJ_ATTR_KCV", value: "bytes_value", text: `0x${aesKcv(material)}` });
    expect(Buffer.from(kcv.attributes[0]!.bytes_value).toString("hex")).toBe(aesKcv(material));

    const found = await dynamicUnary<{ key_handles: number[]; total_size: number; next_page_token: string }>(
      hsm,
      "FindKey",
      { id: "wire-id", page_size: 10 },
      md(),
    );
    expect(found).toMatchObject({ key_handles: [imported.key_handle], total_size: 1, next_page_token: "" });

    // A failure: the status code plus a google.rpc.Status in grpc-status-details-bin holding one ErrorInfo.
    let failure: grpc.ServiceError | undefined;
    try {
      await dynamicUnary(hsm, "GetAttribute", { key_handle: 999_999, attribute_id: 371 }, md());
    } catch (err) {
      failure = err as grpc.ServiceError;
    }
    expect(failure?.code).toBe(grpc.status.NOT_FOUND);
    const details = failure!.metadata.get("grpc-status-details-bin");
    expect(details).toHaveLength(1);
    expect(Buffer.isBuffer(details[0])).toBe(true);
    const status = decodeStatusDetails(details[0] as Buffer);
    expect(status.code).toBe(grpc.status.NOT_FOUND);
    expect(status.detailTypeUrls).toEqual(["type.googleapis.com/google.rpc.ErrorInfo"]);
    expect(status.errorInfo).toMatchObject({ reason: "KEY_NOT_FOUND", domain: "localcloudhsm.dev" });
    expect(status.errorInfo?.metadata).toMatchObject({ kmu_return_code: "0xa8", key_handle: "999999" });
  });

  test("a refusal before login decodes the same way: UNAUTHENTICATED with reason UNAUTHENTICATED", async () => {
    let failure: grpc.ServiceError | undefined;
    try {
      await dynamicUnary(hsm, "FindKey", {});
    } catch (err) {
      failure = err as grpc.ServiceError;
    }
    expect(failure?.code).toBe(grpc.status.UNAUTHENTICATED);
    const status = decodeStatusDetails(failure!.metadata.get("grpc-status-details-bin")[0] as Buffer);
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(status.errorInfo).toMatchObject({ reason: "UNAUTHENTICATED", domain: "localcloudhsm.dev", metadata: { kmu_return_code: "0x90" } });
  });

  test("an enum value sent by number is the same as by name", async () => {
    const adminMd = new grpc.Metadata();
    adminMd.set("x-admin-secret", TEST_ADMIN_SECRET);
    const created = await dynamicUnary<{ user: { user_type: string } }>(admin, "CreateUser", { user_type: 2, username: "wire_officer", password: TEST_PASSWORD }, adminMd);
    expect(created.user.user_type).toBe("USER_TYPE_CO");
  });
});
