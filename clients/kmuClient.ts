// HsmClient plus the parts of the responses key_mgmt_util prints that the facade's login, logout and findKey drop.
//
// HsmClient.login/logout return only the user id / nothing, and HsmClient.findKey only the handles, but
// KMU prints the per-node "Cluster Error Status" block for all three. The facade keeps its session token
// private, so this subclass keeps its own and supplies it through metadata(), which every facade call uses.
import * as grpc from "@grpc/grpc-js";
import { toClientError } from "./errors";
import { ConnectOptions, DEFAULT_ADDRESS, FindOptions, HsmClient } from "./hsmClient";
import { NodeStatus, UserType } from "./generated/localcloudhsm/v1/common";
import { LoginResponse, LogoutResponse } from "./generated/localcloudhsm/v1/hsm_service";

/** Every matching handle of a findKey, with what the last page reported. */
export interface FindKeyResult {
  readonly keyHandles: number[];
  /** The number of matches the daemon counted (equals keyHandles.length unless keys changed while paging). */
  readonly totalSize: number;
  readonly nodeStatuses: NodeStatus[];
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/** A crypto user's connection that also returns what KMU prints for loginHSM, logoutHSM and findKey. */
export class KmuClient extends HsmClient {
  private sessionToken: string | undefined;
  private readonly callDeadlineMs: number;

  constructor(address: string = DEFAULT_ADDRESS, options: ConnectOptions = {}) {
    super(address, options);
    this.callDeadlineMs = options.deadlineMs ?? 30_000;
  }

  /** True while a login session is open. */
  get loggedIn(): boolean {
    return this.sessionToken !== undefined;
  }

  /** loginHSM: opens a session and returns the whole response (user id and node statuses). */
  async loginHSM(username: string, password: string, userType: UserType = UserType.USER_TYPE_CU): Promise<LoginResponse> {
    const res = await this.unary<LoginResponse>((md, opts, cb) => this.raw.login({ userType, username, password }, md, opts, cb), new grpc.Metadata());
    this.sessionToken = res.sessionToken;
    this.userId = res.userId;
    return res;
  }

  /**
   * logoutHSM: ends the session (its session keys vanish) and returns the node statuses. The token is
   * forgotten whatever the answer: a session the daemon already expired (0x90) must not block a new login.
   */
  async logoutHSM(): Promise<LogoutResponse> {
    try {
      return await this.unary<LogoutResponse>((md, opts, cb) => this.raw.logout({}, md, opts, cb), this.metadata());
    } finally {
      this.sessionToken = undefined;
      this.userId = undefined;
    }
  }

  override async login(username: string, password: string, userType: UserType = UserType.USER_TYPE_CU): Promise<number> {
    return (await this.loginHSM(username, password, userType)).userId;
  }

  override async logout(): Promise<void> {
    await this.logoutHSM();
  }

  /** findKey following every page, keeping the count and node statuses KMU prints. */
  async findKeyAll(filters: FindOptions = {}, pageSize = 0): Promise<FindKeyResult> {
    const keyHandles: number[] = [];
    let pageToken = "";
    let totalSize: number;
    let nodeStatuses: NodeStatus[];
    do {
      const request = { sharedWithUserIds: [], ...filters, pageSize, pageToken };
      const res = await this.unary<{ keyHandles: number[]; nextPageToken: string; totalSize: number; nodeStatuses: NodeStatus[] }>(
        (md, opts, cb) => this.raw.findKey(request, md, opts, cb),
        this.metadata(),
      );
      keyHandles.push(...res.keyHandles);
      totalSize = res.totalSize;
      nodeStatuses = res.nodeStatuses;
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return { keyHandles, totalSize, nodeStatuses };
  }

  /** The facade's calls carry this session's token. */
  override metadata(): grpc.Metadata {
    const md = super.metadata();
    if (this.sessionToken) md.set("authorization", `Bearer ${this.sessionToken}`);
    return md;
  }

  private unary<Res>(
    invoke: (md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<Res>) => unknown,
    metadata: grpc.Metadata,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke(metadata, { deadline: Date.now() + this.callDeadlineMs }, (err, res) => (err ? reject(toClientError(err)) : resolve(res)));
    });
  }
}
