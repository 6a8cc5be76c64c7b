// The health probe (the container's HEALTHCHECK): asks a daemon's grpc.health.v1 service whether it is SERVING and
// exits 0 if so, 1 if not or unreachable, 2 on a usage mistake. Needs no grpc_health_probe binary.
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { service as healthService } from "grpc-health-check";

const USAGE = `usage: node dist/src/server/healthProbe.js [host:port] [--service name] [--timeout-ms n]
       [--tls-ca-file ca.pem [--tls-cert-file cert.pem --tls-key-file key.pem]]
  host:port defaults to LOCALCLOUDHSM_HEALTH_ADDRESS, else 127.0.0.1:2225; --service to "" (the whole daemon).`;

export interface ProbeOptions {
  /** The health entry to ask about: "" is the daemon as a whole, or a service such as localcloudhsm.v1.HsmService. */
  readonly service?: string;
  readonly credentials?: grpc.ChannelCredentials;
  readonly deadlineMs?: number;
}

/** The daemon's answer ("SERVING", "NOT_SERVING", ...); rejects with the gRPC error when it gives none. */
export function probeHealth(address: string, options: ProbeOptions = {}): Promise<string> {
  // grpc-health-check loads health.proto with proto-loader (enums as strings); its definition builds a plain client.
  const Health = grpc.makeGenericClientConstructor(healthService, "Health");
  const client = new Health(address, options.credentials ?? grpc.credentials.createInsecure());
  const check = client.Check as unknown as (
    request: { service: string },
    callOptions: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: { status?: string }) => void,
  ) => void;
  return new Promise<string>((resolve, reject) => {
    check.call(client, { service: options.service ?? "" }, { deadline: Date.now() + (options.deadlineMs ?? 3000) }, (err, response) => {
      client.close();
      if (err) reject(err);
      else resolve(response?.status ?? "UNKNOWN");
    });
  });
}

function credentialsFrom(ca: string | undefined, cert: string | undefined, key: string | undefined): grpc.ChannelCredentials {
  if (ca === undefined) {
    if (cert !== undefined || key !== undefined) throw new Error("--tls-cert-file and --tls-key-file need --tls-ca-file");
    return grpc.credentials.createInsecure();
  }
  if ((cert === undefined) !== (key === undefined)) throw new Error("--tls-cert-file and --tls-key-file go together");
  return grpc.credentials.createSsl(readFileSync(ca), key !== undefined ? readFileSync(key) : null, cert !== undefined ? readFileSync(cert) : null);
}

async function main(argv: readonly string[]): Promise<number> {
  let address: string;
  let options: ProbeOptions;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        service: { type: "string" },
        "timeout-ms": { type: "string" },
        "tls-ca-file": { type: "string" },
        "tls-cert-file": { type: "string" },
        "tls-key-file": { type: "string" },
        help: { type: "boolean" },
      },
    });
    if (values.help === true) {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    if (positionals.length > 1) throw new Error("one address at most");
    const deadlineMs = values["timeout-ms"] === undefined ? 3000 : Number(values["timeout-ms"]);
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) throw new Error("--timeout-ms must be a positive integer");
    address = positionals[0] ?? process.env.LOCALCLOUDHSM_HEALTH_ADDRESS ?? "127.0.0.1:2225";
    options = {
      deadlineMs,
      credentials: credentialsFrom(values["tls-ca-file"], values["tls-cert-file"], values["tls-key-file"]),
      ...(values.service !== undefined ? { service: values.service } : {}),
    };
  } catch (err) {
    process.stderr.write(`health probe: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  try {
    const status = await probeHealth(address, options);
    process.stdout.write(`${address}: ${status}\n`);
    return status === "SERVING" ? 0 : 1;
  } catch (err) {
    process.stdout.write(`${address}: no status (${(err as Error).message})\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
