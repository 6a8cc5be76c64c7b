// The short path for scripts and tests: connect, log in, import, find and read keys, with typed errors.
import * as grpc from "@grpc/grpc-js";
import { readFile } from "node:fs/promises";
import { HsmClientError, toClientError } from "./errors";
import { AttestationVerdict, verifyAttestations } from "./attestation";
import { createPrivateKey, createPublicKey, KeyObject, randomBytes } from "node:crypto";
import { aesKeyUnwrapPkcs5, aesKeyWrapPkcs5, UnwrapIntegrityError } from "../common/keyWrap";
import { RETURN_CODES, returnCodeMetadata } from "../common/returnCodes";
import { waitForSync, watchSyncStatus, WatchOptions } from "./syncWatch";
import { User, UserType } from "./generated/localcloudhsm/v1/common";
import {
  CipherMechanism,
  FindKeyRequest,
  GenSymKeyRequest,
  GenSymKeyResponse,
  GetAttributeResponse,
  GetKeyInfoResponse,
  ListHsmUsersResponse,
  NodeAttestationKey,
  DeleteKeyResponse,
  SetAttributeResponse,
  WrapKeyRequest,
  WrapKeyResponse,
  UnwrapHostKeyResponse,
  HsmServiceClient,
  ImportSymKeyRequest,
  ShareKeyResponse,
  SyncEvent,
  WatchSyncStatusResponse,
  ImportSymKeyResponse,
  EcCurve,
  GenerateKeyPairRequest,
  GenerateKeyPairResponse,
  HashAlgorithm,
  ImportPrivateKeyRequest,
  ImportPrivateKeyResponse,
  ImportPublicKeyResponse,
  SignatureEncoding,
  SignMechanism,
  SignRequest,
} from "./generated/localcloudhsm/v1/hsm_service";
import { AdminServiceClient, CreateUserResponse, ListUsersResponse } from "./generated/localcloudhsm/v1/admin_service";

/**
 * The host-side unwrap (-wk) failed its integrity check: the error the HSM gives for a blob that does not unwrap
 * (same reason, KMU code and text), on the step the host ran in the HSM's place, so callers and kmu handle one case.
 */
function hostUnwrapFailure(): HsmClientError {
  const metadata = { ...returnCodeMetadata(RETURN_CODES.WRAPPED_KEY_INVALID), step: "Cfm3UnWrapHostKey" };
  return new HsmClientError(grpc.status.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED", metadata, "the -wk key does not unwrap what the -w key wrapped");
}

/** KMU key types. */
export const KEY_TYPE = { RSA: 0, EC: 3, GENERIC_SECRET: 16, DES3: 21, AES: 31 } as const;
/** Well-known KMU attribute ids. */
export const ATTRIBUTE = { CLASS: 0, TOKEN: 1, LABEL: 3, KEY_TYPE: 256, ID: 258, WRAP: 262, UNWRAP: 263, LOCAL: 355, KCV: 371, ALL: 512 } as const;

export const DEFAULT_ADDRESS = "127.0.0.1:2225";

export interface ConnectOptions {
  /** Channel credentials; insecure (plaintext) by default, meant for loopback. */
  readonly credentials?: grpc.ChannelCredentials;
  /** Deadline of each call in milliseconds (default 30 s). */
  readonly deadlineMs?: number;
  /**
   * A TCP connection of its own instead of the one grpc-js shares among all clients of the process to the
   * same address. The daemon bounds logins in progress per connection, so a client that must not share
   * that budget with others in the process (a test, a benchmark) asks for its own.
   */
  readonly ownConnection?: boolean;
}

function channelOptions(options: ConnectOptions): grpc.ChannelOptions {
  return options.ownConnection ? { "grpc.use_local_subchannel_pool": 1 } : {};
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;
type UnaryMethod<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<Res>) => grpc.ClientUnaryCall;

/** One unary call; `method` is a client method bound to its client. */
function call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata: grpc.Metadata, deadlineMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, metadata, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(toClientError(err)) : resolve(res)));
  });
}

/** Options shared by key-creating calls. */
export interface NewKeyOptions {
  /** -attest: ask every node for a signed firmware statement and verify it (see `attestation` in the result). */
  readonly attest?: boolean;
  readonly label: string;
  readonly id?: string;
  readonly session?: boolean;
  readonly shareWith?: readonly number[];
  readonly minSrv?: number;
  readonly timeoutSeconds?: number;
}

export interface ImportOptions extends NewKeyOptions {
  /** -t: KEY_TYPE.AES (default) or KEY_TYPE.DES3. */
  readonly keyType?: number;
  /** -w: handle of the HSM wrapping key. */
  readonly wrappingKey: number;
  /** -wk: the plaintext of the same wrapping key; when given, the key is wrapped here and only the wrapped form is sent. */
  readonly hostWrappingKey?: Buffer;
}

/** generateKeyPair: an RSA pair (2048, 3072 or 4096 bits, exponent 65537) or an EC pair on a named curve. */
export type KeyPairOptions = NewKeyOptions & { readonly nonExtractable?: boolean } & (
    | { readonly keyType: typeof KEY_TYPE.RSA; readonly modulusBits?: number; readonly publicExponent?: number }
    | { readonly keyType: typeof KEY_TYPE.EC; readonly curve: EcCurve }
  );

/** How sign and verify work: the mechanism, the hash, and whether the input is already a digest. */
export interface SignOptions {
  readonly mechanism: SignMechanism;
  readonly hash: HashAlgorithm;
  /** The input is a digest computed with `hash`, not the message. */
  readonly prehashed?: boolean;
  /** RSA-PSS salt length in bytes; the hash's length by default. */
  readonly pssSaltLength?: number;
  /** ECDSA layout: DER (default) or RAW (r || s). */
  readonly encoding?: SignatureEncoding;
}

export interface PrivateImportOptions extends NewKeyOptions {
  /** -w: handle of the HSM's AES wrapping key (WRAP=1, UNWRAP=1). */
  readonly wrappingKey: number;
  /** -wk: the plaintext of the same wrapping key; the private key is then wrapped here. */
  readonly hostWrappingKey?: Buffer;
}

function newKeyFields(options: NewKeyOptions): Pick<GenSymKeyRequest, "label" | "id" | "session" | "shareWithUserIds" | "minSrv" | "timeoutSeconds"> {
  return {
    label: options.label,
    id: options.id ?? "",
    session: options.session ?? false,
    shareWithUserIds: [...(options.shareWith ?? [])],
    minSrv: options.minSrv,
    timeoutSeconds: options.timeoutSeconds,
  };
}

function signRequest(keyHandle: number, input: Buffer, options: SignOptions): SignRequest {
  return {
    keyHandle,
    mechanism: options.mechanism,
    hash: options.hash,
    input: options.prehashed ? { $case: "digest", value: input } : { $case: "data", value: input },
    pssSaltLength: options.pssSaltLength,
    encoding: options.encoding ?? SignatureEncoding.SIGNATURE_ENCODING_UNSPECIFIED,
  };
}

/** With attest: the verified outcome of the nodes' attestation documents. */
export interface Attested {
  readonly attestation: AttestationVerdict | undefined;
}

/** Encrypt's options; empty or absent buffers are "not given". */
export interface EncryptOptions {
  readonly mechanism: CipherMechanism;
  /** CBC and CTR: the IV or initial counter block. Never for GCM (the HSM makes it) or ECB. */
  readonly iv?: Buffer;
  /** GCM only: additional authenticated data. */
  readonly aad?: Buffer;
  /** GCM only: tag length in bytes, 12 to 16 (default 16). */
  readonly tagLength?: number;
  /** RSA-OAEP only (default SHA-256). */
  readonly oaepHash?: HashAlgorithm;
}

export interface EncryptResult {
  readonly ciphertext: Buffer;
  /** The IV used (the HSM's for GCM); empty for ECB. */
  readonly iv: Buffer;
  /** The GCM tag; empty otherwise. */
  readonly tag: Buffer;
}

/** Decrypt's options: what Encrypt was given and returned (an EncryptResult spreads into it). */
export interface DecryptOptions {
  readonly mechanism: CipherMechanism;
  readonly iv?: Buffer;
  readonly aad?: Buffer;
  readonly tag?: Buffer;
  readonly oaepHash?: HashAlgorithm;
}

/** A findKey query; every given filter must match. */
export type FindOptions = Omit<Partial<FindKeyRequest>, "pageToken" | "pageSize">;

/** A crypto user's connection to a local-cloudhsm daemon. */
export class HsmClient {
  readonly raw: HsmServiceClient;
  private token: string | undefined;
  userId: number | undefined;
  private readonly deadlineMs: number;
  private pinnedKeys: NodeAttestationKey[] | undefined;

  constructor(address: string = DEFAULT_ADDRESS, options: ConnectOptions = {}) {
    this.raw = new HsmServiceClient(address, options.credentials ?? grpc.credentials.createInsecure(), channelOptions(options));
    this.deadlineMs = options.deadlineMs ?? 30_000;
  }

  /** loginHSM -u CU -s <username> -p <password>. */
  async login(username: string, password: string, userType: UserType = UserType.USER_TYPE_CU): Promise<number> {
    const res = await call(this.raw.login.bind(this.raw), { userType, username, password }, new grpc.Metadata(), this.deadlineMs);
    this.token = res.sessionToken;
    this.userId = res.userId;
    return res.userId;
  }

  /** Ends the session; the token is forgotten even if the daemon had already expired it. */
  async logout(): Promise<void> {
    try {
      await call(this.raw.logout.bind(this.raw), {}, this.metadata(), this.deadlineMs);
    } finally {
      this.token = undefined;
      this.userId = undefined;
    }
  }

  /** genSymKey; keySize in bytes. */
  async genSymKey(options: NewKeyOptions & { keyType: number; keySize: number; nonExtractable?: boolean }): Promise<GenSymKeyResponse & Attested> {
    const nonce = options.attest ? randomBytes(32) : Buffer.alloc(0);
    const request: GenSymKeyRequest = {
      attest: options.attest ?? false,
      attestNonce: nonce,
      keyType: options.keyType,
      keySize: options.keySize,
      label: options.label,
      id: options.id ?? "",
      session: options.session ?? false,
      shareWithUserIds: [...(options.shareWith ?? [])],
      nonExtractable: options.nonExtractable ?? false,
      minSrv: options.minSrv,
      timeoutSeconds: options.timeoutSeconds,
    };
    const res = await call(this.raw.genSymKey.bind(this.raw), request, this.metadata(), this.deadlineMs);
    return { ...res, attestation: options.attest ? await this.checkAttestations(res.attestations, nonce, res.keyHandle) : undefined };
  }

  /** An AES wrapping key (WRAP=1, UNWRAP=1) for imports; returns its handle. */
  async createWrappingKey(label = "wrapping-key", keySize = 32): Promise<number> {
    return (await this.genSymKey({ keyType: KEY_TYPE.AES, keySize, label })).keyHandle;
  }

  /** imSymKey from key bytes; with hostWrappingKey (-wk) the plaintext never leaves this process. */
  async importSymKey(material: Buffer, options: ImportOptions): Promise<ImportSymKeyResponse & Attested> {
    const nonce = options.attest ? randomBytes(32) : Buffer.alloc(0);
    const request: ImportSymKeyRequest = {
      attestNonce: nonce,
      material: options.hostWrappingKey
        ? { $case: "hostWrappedKey", value: aesKeyWrapPkcs5(options.hostWrappingKey, material) }
        : { $case: "keyMaterial", value: material },
      wrappingKeyHandle: options.wrappingKey,
      keyType: options.keyType ?? KEY_TYPE.AES,
      label: options.label,
      id: options.id ?? "",
      session: options.session ?? false,
      attest: options.attest ?? false,
      minSrv: options.minSrv,
      timeoutSeconds: options.timeoutSeconds,
      shareWithUserIds: [...(options.shareWith ?? [])],
    };
    const res = await call(this.raw.importSymKey.bind(this.raw), request, this.metadata(), this.deadlineMs);
    return { ...res, attestation: options.attest ? await this.checkAttestations(res.attestations, nonce, res.keyHandle) : undefined };
  }

  /** imSymKey -f <file>: the file holds raw key bytes. */
  async importSymKeyFile(path: string, options: ImportOptions): Promise<ImportSymKeyResponse & Attested> {
    const material = await readFile(path);
    try {
      return await this.importSymKey(material, options);
    } finally {
      material.fill(0);
    }
  }

  // ---- key pairs, signatures, public/private import and export (issue 11: keyPairHandlers) ----

  /** genRSAKeyPair (keyType RSA, modulusBits 2048/3072/4096, exponent 65537) or genECCKeyPair (keyType EC, curve). */
  async generateKeyPair(options: KeyPairOptions): Promise<GenerateKeyPairResponse & Attested> {
    const nonce = options.attest ? randomBytes(32) : Buffer.alloc(0);
    const request: GenerateKeyPairRequest = {
      ...newKeyFields(options),
      attest: options.attest ?? false,
      attestNonce: nonce,
      keyType: options.keyType,
      modulusBits: options.keyType === KEY_TYPE.RSA ? (options.modulusBits ?? 2048) : 0,
      publicExponent: options.keyType === KEY_TYPE.RSA ? (options.publicExponent ?? 65537) : 0,
      curve: options.keyType === KEY_TYPE.EC ? options.curve : EcCurve.EC_CURVE_UNSPECIFIED,
      nonExtractable: options.nonExtractable ?? false,
    };
    const res = await call(this.raw.generateKeyPair.bind(this.raw), request, this.metadata(), this.deadlineMs);
    return { ...res, attestation: options.attest ? await this.checkAttestations(res.attestations, nonce, res.privateKeyHandle) : undefined };
  }

  /** sign: the signature of `input` (the message, or with `prehashed` its digest) with a private key. */
  async sign(keyHandle: number, input: Buffer, options: SignOptions): Promise<Buffer> {
    const res = await call(this.raw.sign.bind(this.raw), signRequest(keyHandle, input, options), this.metadata(), this.deadlineMs);
    return Buffer.from(res.signature);
  }

  /**
   * verify: true when `signature` verifies with the public key, false when it does not (reason SIGNATURE_INVALID);
   * every other failure (wrong key, wrong length, SHA-1, ...) throws HsmClientError.
   */
  async verify(keyHandle: number, input: Buffer, signature: Buffer, options: SignOptions): Promise<boolean> {
    try {
      await call(this.raw.verify.bind(this.raw), { ...signRequest(keyHandle, input, options), signature }, this.metadata(), this.deadlineMs);
      return true;
    } catch (err) {
      if (err instanceof HsmClientError && err.reason === "SIGNATURE_INVALID") return false;
      throw err;
    }
  }

  /** importPubKey: a PEM SubjectPublicKeyInfo or a node:crypto public key. */
  importPublicKey(key: string | KeyObject, options: NewKeyOptions): Promise<ImportPublicKeyResponse> {
    const pem = typeof key === "string" ? key : key.export({ format: "pem", type: "spki" }).toString();
    return call(this.raw.importPublicKey.bind(this.raw), { ...newKeyFields(options), pem }, this.metadata(), this.deadlineMs);
  }

  /**
   * importPrivateKey through the HSM wrapping key `wrappingKey`; with hostWrappingKey (-wk, the same key's bytes) the
   * PKCS#8 DER is wrapped here and only the wrapped form is sent.
   */
  async importPrivateKey(key: string | KeyObject, options: PrivateImportOptions): Promise<ImportPrivateKeyResponse & Attested> {
    const nonce = options.attest ? randomBytes(32) : Buffer.alloc(0);
    let material: ImportPrivateKeyRequest["material"];
    if (options.hostWrappingKey) {
      const der = (typeof key === "string" ? createPrivateKey(key) : key).export({ format: "der", type: "pkcs8" });
      material = { $case: "hostWrappedKey", value: aesKeyWrapPkcs5(options.hostWrappingKey, der) };
      der.fill(0);
    } else {
      material = { $case: "pem", value: typeof key === "string" ? key : key.export({ format: "pem", type: "pkcs8" }).toString() };
    }
    const request: ImportPrivateKeyRequest = {
      ...newKeyFields(options),
      material,
      wrappingKeyHandle: options.wrappingKey,
      attest: options.attest ?? false,
      attestNonce: nonce,
    };
    const res = await call(this.raw.importPrivateKey.bind(this.raw), request, this.metadata(), this.deadlineMs);
    return { ...res, attestation: options.attest ? await this.checkAttestations(res.attestations, nonce, res.keyHandle) : undefined };
  }

  /** exportPubKey: the public key as a node:crypto KeyObject. */
  async exportPublicKey(keyHandle: number): Promise<KeyObject> {
    const res = await call(this.raw.exportPublicKey.bind(this.raw), { keyHandle }, this.metadata(), this.deadlineMs);
    return createPublicKey(res.pem);
  }

  /**
   * exportPrivateKey: the HSM wraps the PKCS#8 DER under `wrappingKeyHandle`; it is unwrapped here with
   * hostWrappingKey (-wk), else by the HSM (Cfm3UnWrapHostKey, as exportKey does).
   */
  async exportPrivateKey(keyHandle: number, wrappingKeyHandle: number, hostWrappingKey?: Buffer): Promise<KeyObject> {
    const res = await call(this.raw.exportPrivateKey.bind(this.raw), { keyHandle, wrappingKeyHandle, mechanism: 0 }, this.metadata(), this.deadlineMs);
    let der: Buffer;
    if (hostWrappingKey) {
      try {
        der = aesKeyUnwrapPkcs5(hostWrappingKey, Buffer.from(res.wrappedKey));
      } catch (err) {
        if (err instanceof UnwrapIntegrityError) throw hostUnwrapFailure();
        throw err;
      }
    } else {
      der = Buffer.from((await this.unwrapHostKey(wrappingKeyHandle, Buffer.from(res.wrappedKey))).keyMaterial);
    }
    try {
      return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    } finally {
      der.fill(0);
    }
  }

  getAttribute(keyHandle: number, attributeId: number): Promise<GetAttributeResponse> {
    return call(this.raw.getAttribute.bind(this.raw), { keyHandle, attributeId }, this.metadata(), this.deadlineMs);
  }

  /** The key check value as 6 lowercase hex digits, e.g. "c33cbd". */
  async kcv(keyHandle: number): Promise<string> {
    const res = await this.getAttribute(keyHandle, ATTRIBUTE.KCV);
    const value = res.attributes[0]?.value;
    if (value?.$case !== "bytesValue") throw new Error("the daemon returned no KCV bytes");
    return Buffer.from(value.value).toString("hex");
  }

  /** findKey: every matching handle, following page tokens. */
  async findKey(filters: FindOptions = {}, pageSize = 0): Promise<number[]> {
    const handles: number[] = [];
    let pageToken = "";
    do {
      const res = await call(
        this.raw.findKey.bind(this.raw),
        { sharedWithUserIds: [], ...filters, pageSize, pageToken },
        this.metadata(),
        this.deadlineMs,
      );
      handles.push(...res.keyHandles);
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return handles;
  }

  // ---- encrypt, decrypt, MAC (issue 11: cipherHandlers) ----

  /**
   * Encrypts with an AES or 3DES key (ENCRYPT=1). For AES-GCM the HSM makes the 12-byte IV: keep the returned `iv`
   * and `tag` for decrypt. CBC and CTR take `iv` (16 bytes AES, 8 bytes 3DES); ECB takes none.
   */
  async encrypt(keyHandle: number, plaintext: Buffer, options: EncryptOptions): Promise<EncryptResult> {
    const request = {
      keyHandle,
      mechanism: options.mechanism,
      plaintext,
      iv: options.iv ?? Buffer.alloc(0),
      aad: options.aad ?? Buffer.alloc(0),
      tagLength: options.tagLength ?? 0,
      oaepHash: options.oaepHash ?? HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED,
    };
    const res = await call(this.raw.encrypt.bind(this.raw), request, this.metadata(), this.deadlineMs);
    return { ciphertext: Buffer.from(res.ciphertext), iv: Buffer.from(res.iv), tag: Buffer.from(res.tag) };
  }

  /** Decrypts with a key whose DECRYPT=1; a GCM tag or padding that does not check is ENCRYPTED_DATA_INVALID. */
  async decrypt(keyHandle: number, ciphertext: Buffer, options: DecryptOptions): Promise<Buffer> {
    const request = {
      keyHandle,
      mechanism: options.mechanism,
      ciphertext,
      iv: options.iv ?? Buffer.alloc(0),
      aad: options.aad ?? Buffer.alloc(0),
      tag: options.tag ?? Buffer.alloc(0),
      oaepHash: options.oaepHash ?? HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED,
    };
    const res = await call(this.raw.decrypt.bind(this.raw), request, this.metadata(), this.deadlineMs);
    return Buffer.from(res.plaintext);
  }

  /** The full-length HMAC of `data` under a generic-secret key (SIGN=1). */
  async mac(keyHandle: number, data: Buffer, hash: HashAlgorithm): Promise<Buffer> {
    const res = await call(this.raw.mac.bind(this.raw), { keyHandle, hash, data }, this.metadata(), this.deadlineMs);
    return Buffer.from(res.mac);
  }

  /** Resolves when `mac` is the HMAC of `data` (VERIFY=1); rejects with SIGNATURE_INVALID when it is not. */
  async verifyMac(keyHandle: number, data: Buffer, mac: Buffer, hash: HashAlgorithm): Promise<void> {
    await call(this.raw.verifyMac.bind(this.raw), { keyHandle, hash, data, mac }, this.metadata(), this.deadlineMs);
  }


  /** exSymKey's Cfm3WrapKey: the key wrapped under an HSM wrapping key (owner only, extractable keys). */
  wrapKey(keyHandle: number, wrappingKeyHandle: number): Promise<WrapKeyResponse> {
    return call(this.raw.wrapKey.bind(this.raw), WrapKeyRequest.fromPartial({ keyHandle, wrappingKeyHandle }), this.metadata(), this.deadlineMs);
  }

  /** exSymKey's Cfm3UnWrapHostKey: the HSM unwraps a blob and returns the plaintext. */
  unwrapHostKey(wrappingKeyHandle: number, wrappedKey: Buffer): Promise<UnwrapHostKeyResponse> {
    return call(this.raw.unwrapHostKey.bind(this.raw), { wrappingKeyHandle, wrappedKey }, this.metadata(), this.deadlineMs);
  }

  /**
   * exSymKey: the key's plaintext, wrapped by the HSM and unwrapped by the HSM (or, with
   * hostWrappingKey, -wk, unwrapped here so the plaintext never crosses the wire).
   */
  async exportKey(keyHandle: number, wrappingKeyHandle: number, hostWrappingKey?: Buffer): Promise<{ material: Buffer; steps: string[] }> {
    const wrapped = await this.wrapKey(keyHandle, wrappingKeyHandle);
    if (hostWrappingKey) {
      try {
        return { material: aesKeyUnwrapPkcs5(hostWrappingKey, Buffer.from(wrapped.wrappedKey)), steps: ["Cfm3WrapKey"] };
      } catch (err) {
        if (err instanceof UnwrapIntegrityError) throw hostUnwrapFailure();
        throw err;
      }
    }
    const plain = await this.unwrapHostKey(wrappingKeyHandle, Buffer.from(wrapped.wrappedKey));
    return { material: Buffer.from(plain.keyMaterial), steps: ["Cfm3WrapKey", "Cfm3UnWrapHostKey"] };
  }

  // ---- wrap and unwrap with mechanisms (issue 11: wrapHandlers) ----

  /** setAttribute -o <handle> -a 1 with value 1: a session key becomes a token key. */
  setAttribute(keyHandle: number, attributeId: number, value: number): Promise<SetAttributeResponse> {
    return call(this.raw.setAttribute.bind(this.raw), { keyHandle, attributeId, value }, this.metadata(), this.deadlineMs);
  }

  deleteKey(keyHandle: number): Promise<DeleteKeyResponse> {
    return call(this.raw.deleteKey.bind(this.raw), { keyHandle }, this.metadata(), this.deadlineMs);
  }

  getKeyInfo(keyHandle: number): Promise<GetKeyInfoResponse> {
    return call(this.raw.getKeyInfo.bind(this.raw), { keyHandle }, this.metadata(), this.deadlineMs);
  }

  listUsers(): Promise<ListHsmUsersResponse> {
    return call(this.raw.listHsmUsers.bind(this.raw), {}, this.metadata(), this.deadlineMs);
  }

  // ---- HSM info and login status (issue 11: infoHandlers) ----

  /**
   * cloudhsm_mgmt_util changePswd, for a session of a crypto officer: sets another user's password and clears
   * its failed-login count and lock. Resolves with the user as it is now.
   */
  async changeUserPassword(username: string, newPassword: string): Promise<User | undefined> {
    return (await call(this.raw.changeUserPassword.bind(this.raw), { username, newPassword }, this.metadata(), this.deadlineMs)).user;
  }

  /** The nodes' attestation keys, fetched once per client unless pinned with `pinAttestationKeys`. */
  async attestationKeys(): Promise<NodeAttestationKey[]> {
    this.pinnedKeys ??= (await call(this.raw.getAttestationKeys.bind(this.raw), {}, this.metadata(), this.deadlineMs)).keys;
    return this.pinnedKeys;
  }

  /** Verify attestations against these keys instead of asking the daemon (like pinning a customer CA). */
  pinAttestationKeys(keys: NodeAttestationKey[]): void {
    this.pinnedKeys = keys;
  }

  private async checkAttestations(attestations: ImportSymKeyResponse["attestations"], nonce: Buffer, keyHandle: number): Promise<AttestationVerdict> {
    return verifyAttestations(attestations, await this.attestationKeys(), { nonce, keyHandle });
  }

  /** Shares the key with crypto users (share=true) or stops sharing it; owner only. */
  shareKey(keyHandle: number, userIds: readonly number[], share = true): Promise<ShareKeyResponse> {
    return call(this.raw.shareKey.bind(this.raw), { keyHandle, userIds: [...userIds], share }, this.metadata(), this.deadlineMs);
  }

  /** WatchSyncStatus as an async iterable; breaking out of the loop ends the call. */
  watch(options: WatchOptions = {}): AsyncGenerator<WatchSyncStatusResponse> {
    return watchSyncStatus(this.raw, this.metadata(), options);
  }

  /**
   * Waits until the key created at `created.revision` is held by `nodes` nodes (or "all"), following
   * the watch stream: no polling, no sleeping. Rejects on deadline or if the key is tombstoned.
   */
  waitForSync(created: { keyHandle: number; revision: string }, nodes: number | "all" = "all", deadlineMs = 30_000): Promise<SyncEvent> {
    return waitForSync(this.raw, this.metadata(), created.keyHandle, nodes, { fromRevision: Number(created.revision), deadlineMs });
  }

  /** Metadata carrying this client's session token. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set("authorization", `Bearer ${this.token}`);
    return md;
  }

  close(): void {
    this.raw.close();
  }
}

/** User management through the admin service; needs the daemon's admin secret. */
export class AdminClient {
  readonly raw: AdminServiceClient;
  private readonly deadlineMs: number;

  constructor(
    address: string,
    private readonly adminSecret: string,
    options: ConnectOptions = {},
  ) {
    this.raw = new AdminServiceClient(address, options.credentials ?? grpc.credentials.createInsecure());
    this.deadlineMs = options.deadlineMs ?? 30_000;
  }

  createUser(username: string, password: string, userType: UserType = UserType.USER_TYPE_CU): Promise<CreateUserResponse> {
    return call(this.raw.createUser.bind(this.raw), { userType, username, password }, this.metadata(), this.deadlineMs);
  }

  listUsers(): Promise<ListUsersResponse> {
    return call(this.raw.listUsers.bind(this.raw), {}, this.metadata(), this.deadlineMs);
  }

  /**
   * Unlocks a user: clears its failed-login count and lock, and sets `newPassword` when given (otherwise the
   * password is kept). Resolves with the user as it is now.
   */
  async unlockUser(username: string, newPassword?: string): Promise<User | undefined> {
    return (await call(this.raw.unlockUser.bind(this.raw), { username, newPassword: newPassword ?? "" }, this.metadata(), this.deadlineMs)).user;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set("x-admin-secret", this.adminSecret);
    return md;
  }

  close(): void {
    this.raw.close();
  }
}
