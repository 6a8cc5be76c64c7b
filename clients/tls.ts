// Channel credentials for a TLS or mutual-TLS daemon, from PEM files (like the CloudHSM client's customerCA.crt).
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";

export interface TlsFiles {
  /** CA that signed the daemon's certificate. */
  readonly caFile: string;
  /** Client certificate and key, for a daemon that requires mutual TLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export function tlsCredentials(files: TlsFiles): grpc.ChannelCredentials {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new Error("a client certificate needs both certFile and keyFile");
  }
  return grpc.credentials.createSsl(
    readFileSync(files.caFile),
    files.keyFile ? readFileSync(files.keyFile) : null,
    files.certFile ? readFileSync(files.certFile) : null,
  );
}
