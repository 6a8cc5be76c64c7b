// A bare HTTP/2 peer on a TCP socket, for tests of what the daemon does to clients that do not play by the rules:
// it writes frames itself (never honouring the daemon's SETTINGS) and records every frame the daemon sends.
import { connect, Socket } from "node:net";

export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7 } as const;
const FLAG = { ACK: 0x1, END_HEADERS: 0x4 } as const;
/** RST_STREAM error code for a stream refused before any processing (RFC 9113, 7). */
export const REFUSED_STREAM = 0x7;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export class RawHttp2Peer {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** Resolves when the daemon (or anyone) has closed the socket. */
  readonly closed: Promise<void>;
  private buffered = Buffer.alloc(0);
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  private pingSequence = 0;

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
  }

  /** A connected socket that has sent nothing yet. */
  static async connect(port: number): Promise<RawHttp2Peer> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawHttp2Peer(socket);
  }

  /**
   * Sends the client preface and empty SETTINGS and waits for the daemon's SETTINGS; acknowledges them
   * unless told not to (until acknowledged, the daemon's HTTP/2 layer enforces them more leniently).
   */
  async handshake(options: { acknowledge?: boolean } = {}): Promise<void> {
    this.socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
    await this.until(() => this.frames.some((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0));
    if (options.acknowledge !== false) this.socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
  }

  /** The daemon's SETTINGS_MAX_CONCURRENT_STREAMS (identifier 0x3), if it sent one. */
  announcedMaxConcurrentStreams(): number | undefined {
    const settings = this.frames.find((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0);
    for (let at = 0; settings && at + 6 <= settings.payload.length; at += 6) {
      if (settings.payload.readUInt16BE(at) === 0x3) return settings.payload.readUInt32BE(at + 2);
    }
    return undefined;
  }

  /** The daemon's GOAWAY, if it sent one: the last stream it processed and the error code. */
  goaway(): { lastStreamId: number; code: number } | undefined {
    const f = this.frames.find((x) => x.type === FRAME.GOAWAY);
    return f && { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
  }

  /** Opens stream `id` with request headers only: a half-open call that never sends its message. */
  openStream(id: number, path: string, headers: Record<string, string> = {}): void {
    const fields: [string, string][] = [
      [":method", "POST"],
      [":scheme", "http"],
      [":path", path],
      [":authority", "localhost"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ...Object.entries(headers),
    ];
    this.socket.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, Buffer.concat(fields.map(([n, v]) => literalField(n, v)))));
  }

  /** Sends a PING and resolves at its ACK: the connection is alive and answering. */
  async pingRoundTrip(): Promise<void> {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(++this.pingSequence, 4);
    this.socket.write(frame(FRAME.PING, 0, 0, payload));
    await this.until(() => this.frames.some((f) => f.type === FRAME.PING && (f.flags & FLAG.ACK) !== 0 && f.payload.equals(payload)));
  }

  /** Resolves once `check` holds over the frames received (at once if it already does). */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }

  /** Streams the daemon reset, with the error code of each. */
  resets(): { streamId: number; code: number }[] {
    return this.frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => ({ streamId: f.streamId, code: f.payload.readUInt32BE(0) }));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      this.frames.push({
        type: this.buffered[3]!,
        flags: this.buffered[4]!,
        streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
        payload: this.buffered.subarray(9, 9 + length),
      });
      this.buffered = this.buffered.subarray(9 + length);
    }
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK "literal header field without indexing, new name" with plain (not Huffman) strings under 127 bytes. */
function literalField(name: string, value: string): Buffer {
  const text = (s: string): Buffer => {
    const bytes = Buffer.from(s, "latin1");
    if (bytes.length >= 127) throw new Error("header strings here stay under 127 bytes");
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  };
  return Buffer.concat([Buffer.from([0x00]), text(name), text(value)]);
}
