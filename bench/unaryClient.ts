// The one client path every measured call takes: a grpc-js Client, fresh metadata with the bearer token, a deadline.
import * as grpc from "@grpc/grpc-js";

/** What a unary method needs on the client side: its path and (de)serializers. */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

export type UnaryCallback<Res> = (err: grpc.ServiceError | null, res: Res | undefined) => void;

/**
 * A thin wrapper over grpc.Client.makeUnaryRequest, the call the generated clients (and so the
 * project's HsmClient) make. Every call gets new metadata and a deadline, as HsmClient does, so the
 * ceiling and the HSM methods pay the same client-side cost.
 */
export class UnaryClient {
  private readonly client: grpc.Client;

  constructor(
    address: string,
    private readonly token: string,
    private readonly deadlineMs = 30_000,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, callback: UnaryCallback<Res>): void {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${this.token}`);
    this.client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + this.deadlineMs },
      (err, res) => callback(err, res),
    );
  }

  /** Resolves when the channel is connected, so connection set-up is not measured. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): void {
    this.client.close();
  }
}
