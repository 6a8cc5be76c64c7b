// Reads credentials from call metadata: the login session's bearer token and the admin secret.
import * as grpc from "@grpc/grpc-js";
import { timingSafeEqual, createHash } from "node:crypto";
import { HsmError } from "../hsm/errors";

export const AUTHORIZATION_HEADER = "authorization";
export const ADMIN_SECRET_HEADER = "x-admin-secret";

/** The bearer token of a call, if any. */
export function bearerToken(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get(AUTHORIZATION_HEADER)[0];
  if (typeof value !== "string") return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

/** Throws ADMIN_SECRET_INVALID unless the call carries the admin secret. */
export function requireAdminSecret(metadata: grpc.Metadata, secret: string): void {
  const given = metadata.get(ADMIN_SECRET_HEADER)[0];
  // Compare digests so the comparison takes the same time whatever the given length.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  if (typeof given !== "string" || !timingSafeEqual(digest(given), digest(secret))) {
    throw new HsmError("ADMIN_SECRET_INVALID", "the admin secret is missing or wrong");
  }
}
