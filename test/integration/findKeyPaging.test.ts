// FindKey paging per AIP-158 over real gRPC: pages, total_size, default and maximum page sizes, and page-token binding.
import * as grpc from "@grpc/grpc-js";
import { FindOptions, HsmClient, hsmProto, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { unaryWith } from "../support/rawGrpc";
import { startTestDaemon, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";

const S = grpc.status;
const KEY_COUNT = 250;
const LABEL = "paged";

function page(client: HsmClient, filters: FindOptions, pageSize: number, pageToken = ""): Promise<hsmProto.FindKeyResponse> {
  const request: hsmProto.FindKeyRequest = { sharedWithUserIds: [], ...filters, pageSize, pageToken };
  return unaryWith(client.raw.findKey.bind(client.raw), request, client.metadata());
}

describe("FindKey paging", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  let created: number[];
  const filters: FindOptions = { label: LABEL };

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    bob = await t.loggedInCu("bob");
    created = [];
    // Batches keep several calls in flight without flooding the 2-core machine.
    for (let i = 0; i < KEY_COUNT; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, KEY_COUNT - i) }, () => alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: LABEL })),
      );
      created.push(...batch.map((r) => r.keyHandle));
    }
    created.sort((x, y) => x - y);
    // Noise that the label filter must exclude.
    await alice.createWrappingKey("not-paged");
  });

  /** A first-page token of alice's for `filters`. */
  const firstToken = async (): Promise<string> => {
    const first = await page(alice, filters, 100);
    expect(first.nextPageToken).not.toBe("");
    return first.nextPageToken;
  };

  test("250 keys, page_size 100: 3 pages, total_size on each, ascending, no duplicates or gaps, last token empty", async () => {
    const pages: hsmProto.FindKeyResponse[] = [];
    let token = "";
    do {
      const res = await page(alice, filters, 100, token);
      pages.push(res);
      token = res.nextPageToken;
      expect(pages.length).toBeLessThanOrEqual(3);
    } while (token !== "");

    expect(pages.map((p) => p.keyHandles.length)).toEqual([100, 100, 50]);
    expect(pages.map((p) => p.totalSize)).toEqual([KEY_COUNT, KEY_COUNT, KEY_COUNT]);
    expect(pages.map((p) => p.nextPageToken === "")).toEqual([false, false, true]);
    const all = pages.flatMap((p) => p.keyHandles);
    expect(new Set(all).size).toBe(KEY_COUNT);
    expect(all).toEqual(created);
  });

  test("page_size 0 means the default (1000): everything in one page", async () => {
    const res = await page(alice, filters, 0);
    expect(res.keyHandles).toEqual(created);
    expect(res.totalSize).toBe(KEY_COUNT);
    expect(res.nextPageToken).toBe("");
  });

  test("a page_size above the maximum is coerced, not refused", async () => {
    const res = await page(alice, filters, 50_000);
    expect(res.keyHandles).toEqual(created);
    expect(res.nextPageToken).toBe("");
  });

  test("a page_size that exactly fits leaves no empty trailing page", async () => {
    const res = await page(alice, filters, KEY_COUNT);
    expect(res.keyHandles).toHaveLength(KEY_COUNT);
    expect(res.nextPageToken).toBe("");
  });

  test("the page size may change between pages, and a token can be used again", async () => {
    const token = await firstToken();
    const rest = await page(alice, filters, 200, token);
    expect(rest.keyHandles).toEqual(created.slice(100));
    expect(rest.nextPageToken).toBe("");
    expect((await page(alice, filters, 200, token)).keyHandles).toEqual(rest.keyHandles);
  });

  test("a negative page_size -> INVALID_ARGUMENT PAGE_SIZE_INVALID", async () => {
    const err = await expectRpcError(page(alice, filters, -1), S.INVALID_ARGUMENT, "PAGE_SIZE_INVALID");
    expect(err.metadata.kmu_return_code).toBe("0x07");
    expect(err.metadata.page_size).toBe("-1");
  });

  test.each([
    ["garbage", "not-a-token"],
    ["one dot too many", "a.b.c"],
    ["an empty signature", "eyJzIjoieCIsImEiOjF9."],
    ["base64 of nothing", "."],
  ])("a malformed token (%s) -> PAGE_TOKEN_INVALID", async (_name, token) => {
    const err = await expectRpcError(page(alice, filters, 100, token), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
    expect(err.metadata.kmu_return_code).toBe("0x07");
  });

  test("a token whose payload or signature was altered -> PAGE_TOKEN_INVALID", async () => {
    const token = await firstToken();
    const [payload, signature] = token.split(".") as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString("utf8")), a: 0 })).toString("base64url");
    await expectRpcError(page(alice, filters, 100, `${forged}.${signature}`), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
    const flipped = signature.slice(0, -1) + (signature.endsWith("A") ? "B" : "A");
    await expectRpcError(page(alice, filters, 100, `${payload}.${flipped}`), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
  });

  test.each<[string, FindOptions]>([
    ["another label", { label: "not-paged" }],
    ["an added type filter", { label: LABEL, keyType: KEY_TYPE.AES }],
    ["no filters", {}],
    ["an added session filter", { label: LABEL, session: false }],
  ])("a token reused with different filters (%s) -> PAGE_TOKEN_INVALID", async (_name, other) => {
    const token = await firstToken();
    await expectRpcError(page(alice, other, 100, token), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
  });

  test("a token from another user's session -> PAGE_TOKEN_INVALID", async () => {
    const token = await firstToken();
    await expectRpcError(page(bob, filters, 100, token), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
  });

  test("a token from another login session of the same user -> PAGE_TOKEN_INVALID", async () => {
    const token = await firstToken();
    const again = t.client();
    await again.login("alice", TEST_PASSWORD);
    await expectRpcError(page(again, filters, 100, token), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
  });

  test("a token from another daemon instance -> PAGE_TOKEN_INVALID", async () => {
    const other = await startTestDaemon();
    try {
      const aliceThere = await other.loggedInCu("alice");
      for (let i = 0; i < 3; i++) await aliceThere.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: LABEL });
      const foreign = (await page(aliceThere, filters, 1)).nextPageToken;
      expect(foreign).not.toBe("");
      // The other daemon's token is refused here, and this daemon's token is refused there.
      await expectRpcError(page(alice, filters, 1, foreign), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
      await expectRpcError(page(aliceThere, filters, 1, await firstToken()), S.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
    } finally {
      await other.close();
    }
  });
});
