// A flood client in its own process and on its own connection: waves of concurrent logins of users that do not exist, until told to stop.
import { HsmClient, HsmClientError } from "../clients";

/** Parent -> worker. */
export type FloodCommand = { readonly type: "start"; readonly address: string; readonly concurrent: number } | { readonly type: "stop" };

/** How the flood's logins were answered. */
export interface FloodCounts {
  readonly waves: number;
  readonly sent: number;
  /** Answered LOGIN_FAILED: the daemon ran the password check. */
  readonly checked: number;
  /** Refused at once with RESOURCE_EXHAUSTED TOO_MANY_LOGINS. */
  readonly refused: number;
  /** Anything else, by reason (should stay empty). */
  readonly other: Record<string, number>;
}

/** Worker -> parent: the first wave is in flight; then the final counts. */
export type FloodReport = { readonly type: "flooding" } | { readonly type: "done"; readonly counts: FloodCounts } | { readonly type: "failed"; readonly error: string };

let stopping = false;

async function flood(address: string, concurrent: number): Promise<FloodCounts> {
  const client = new HsmClient(address, { ownConnection: true, deadlineMs: 120_000 });
  const counts = { waves: 0, sent: 0, checked: 0, refused: 0, other: {} as Record<string, number> };
  let seq = 0;
  try {
    while (!stopping) {
      const wave = Array.from({ length: concurrent }, () => {
        seq += 1;
        return client.login(`nobody_${seq}`, "not-a-password").then(
          () => "OK",
          (err: unknown) => (err instanceof HsmClientError ? err.reason : String(err)),
        );
      });
      counts.waves += 1;
      counts.sent += concurrent;
      if (counts.waves === 1) send({ type: "flooding" });
      for (const outcome of await Promise.all(wave)) {
        if (outcome === "LOGIN_FAILED") counts.checked += 1;
        else if (outcome === "TOO_MANY_LOGINS") counts.refused += 1;
        else counts.other[outcome] = (counts.other[outcome] ?? 0) + 1;
      }
    }
  } finally {
    client.close();
  }
  return counts;
}

function send(message: FloodReport): void {
  process.send?.(message);
}

process.on("message", (command: FloodCommand) => {
  if (command.type === "stop") {
    stopping = true;
    return;
  }
  flood(command.address, command.concurrent).then(
    (counts) => {
      send({ type: "done", counts });
      process.disconnect();
    },
    (err: unknown) => {
      send({ type: "failed", error: err instanceof Error ? err.message : String(err) });
      process.disconnect();
    },
  );
});
