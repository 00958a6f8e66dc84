/// <reference types="node" />
// Types of the npm package `vpc-imds`: the IBM Cloud VPC Instance Metadata Service.

/** The environment variable that overrides the default endpoint. */
export declare const ENDPOINT_ENV: 'VPC_IMDS_ENDPOINT';

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call: it rejects with the signal's reason and sends nothing more. */
  signal?: AbortSignal;
}

/** The request a custom transport sends (never through a proxy, never redirected). */
export interface TransportRequest {
  method: 'GET' | 'PUT' | 'POST';
  /** Absolute URL on the configured endpoint. */
  url: string;
  /** Headers to set (`Host` and `Content-Length` are the HTTP library's). An
   * `Authorization` value holds a token: never log it. */
  headers: Record<string, string>;
  /** JSON body, if any. */
  body?: string;
  /** Milliseconds left for the whole exchange. */
  timeout: number;
  /** Connect timeout in milliseconds. */
  connectTimeout: number;
  /** Aborted when the exchange must end (timeout or the caller's signal). */
  signal: AbortSignal;
}

/** A whole response from a custom transport. */
export interface TransportResponse {
  status: number;
  /** Response headers (only `Retry-After` is read): fetch `Headers`, a Map-like `get`, or an object. */
  headers?: { get(name: string): string | null } | Record<string, string | string[] | undefined>;
  /** The body, de-chunked. */
  body?: Uint8Array | ArrayBuffer | string | null;
}

/**
 * A transport with its own HTTP stack. Throw to report a transport failure: set
 * `transport` on the error to one of `refused`, `unreachable`, `connect_timeout`,
 * `response_timeout`, `connection_lost`, `tls`, or throw Node/undici errors
 * (`ECONNREFUSED`, ...), which are mapped.
 */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** A transport over `fetch` (Node's built-in by default). */
export declare function fetchTransport(fetchImpl?: typeof fetch): Transport;

/** Client settings. Times are in seconds. */
export interface ClientOptions {
  /** `http://HOST[:PORT]` or `https://HOST[:PORT]`; default: `VPC_IMDS_ENDPOINT`, else
   * `http://169.254.169.254` (`https://api.metadata.cloud.ibm.com` with `secure`). */
  endpoint?: string;
  /** Secure access: HTTPS only (an `http://` endpoint is upgraded). */
  secure?: boolean;
  /** API version date `YYYY-MM-DD` (default `2025-08-26`; earlier dates use the legacy identity paths). */
  version?: string;
  /** Identity token lifetime, 5..3600 seconds. */
  tokenLifetime?: number;
  /** Whole call, retries included (default 15). */
  timeout?: number;
  /** One connect (default 1). */
  connectTimeout?: number;
  /** One request, sent to answered (default 5). */
  requestTimeout?: number;
  /** Attempts per request, the first included (1..255, default 4). */
  maxAttempts?: number;
  /** Largest response accepted, bytes (default 1 MiB). */
  maxResponseBytes?: number;
  /** Read `VPC_IMDS_ENDPOINT` (default true). Proxy variables are never read. */
  useEnv?: boolean;
  /** CA certificates (PEM) to trust for `https`, with the built-in transport. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Replaces the built-in node:net/node:tls transport. */
  transport?: Transport;
}

/** An identity or IAM token. `accessToken` is left out of inspect, JSON and toString. */
export declare class Token {
  private constructor();
  /** The token itself (a secret: never log it). */
  readonly accessToken: string;
  /** Lifetime in seconds, as the service stated it. */
  readonly expiresIn: number | null;
  /** RFC 3339 creation time, when the service gave it. */
  readonly createdAt: string | null;
  /** RFC 3339 expiry time, when the service gave it. */
  readonly expiresAt: string | null;
  toJSON(): { access_token: '[REDACTED]'; expires_in: number | null; created_at: string | null; expires_at: string | null };
}

/** A reference `{ id, name, crn?, href?, resource_type? }` as IBM returns it. */
export interface Reference {
  id: string;
  name?: string;
  crn?: string;
  href?: string;
  resource_type?: string;
  [field: string]: unknown;
}

/** `GET /metadata/v1/instance` (IBM's field names; fields not listed are kept too). */
export interface Instance {
  id: string;
  crn: string;
  name: string;
  status?: string;
  created_at?: string;
  memory?: number;
  bandwidth?: number;
  vcpu?: { architecture?: string; count?: number; manufacturer?: string; [field: string]: unknown };
  profile?: Reference;
  image?: Reference;
  zone?: Reference;
  vpc?: Reference;
  resource_group?: Reference;
  primary_network_interface?: Reference;
  metadata_service?: { enabled?: boolean; protocol?: string; response_hop_limit?: number };
  [field: string]: unknown;
}

/** `GET /metadata/v1/instance/initialization`. */
export interface Initialization {
  keys?: Reference[];
  user_data?: string;
  default_trusted_profile?: { auto_link?: boolean; target?: Reference };
  [field: string]: unknown;
}

/** A network interface. */
export interface NetworkInterface {
  id: string;
  name?: string;
  primary_ip?: { address?: string; [field: string]: unknown };
  subnet?: Reference;
  security_groups?: Reference[];
  [field: string]: unknown;
}

/** A volume attachment. */
export interface VolumeAttachment {
  id: string;
  name?: string;
  type?: string;
  volume?: Reference;
  [field: string]: unknown;
}

/** An SSH key. */
export interface Key {
  id: string;
  name?: string;
  crn?: string;
  public_key: string;
  type?: string;
  length?: number;
  fingerprint?: string;
  created_at?: string;
  [field: string]: unknown;
}

/** A placement group. */
export interface PlacementGroup {
  id: string;
  name?: string;
  crn?: string;
  strategy?: string;
  [field: string]: unknown;
}

/** An instance identity certificate. */
export interface IdentityCertificate {
  /** PEM certificates: the leaf (CN = instance id) first, then the chain. */
  certificates: string[];
  id?: string;
  expires_at?: string;
  expires_in?: number;
  created_at?: string;
  [field: string]: unknown;
}

/** A JSON document. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A trusted profile: at most one of id, CRN and name; none means the default. */
export interface ProfileOptions {
  profileId?: string;
  profileCrn?: string;
  profileName?: string;
}

/**
 * A client of the VPC Instance Metadata Service. Calls may run concurrently: they
 * share one identity token, fetched by one of them at a time (single flight).
 */
export declare class Client {
  constructor(options?: ClientOptions);
  /** The service's base URL. */
  readonly endpoint: string;
  /** The API version date. */
  readonly version: string;
  /** Closes idle connections (the client stays usable). */
  close(): void;

  /** Creates a new identity token (also the one this client uses from now on). */
  identityToken(options?: CallOptions & { expiresIn?: number }): Promise<Token>;
  /** An IAM token of a trusted profile: cached per profile while fresh, else exchanged for the identity token. */
  iamToken(options?: CallOptions & ProfileOptions): Promise<Token>;
  /** Creates an instance identity certificate for a PEM certificate request. */
  identityCertificate(csr: string, options?: CallOptions & { expiresIn?: number }): Promise<IdentityCertificate>;
  /** Waits until the service answers, for at most `max` seconds (default 60). */
  waitUntilReady(max?: number, options?: CallOptions): Promise<void>;

  instance(options?: CallOptions): Promise<Instance>;
  initialization(options?: CallOptions): Promise<Initialization>;
  /** The user data as bytes (empty if none); see `userData` for gzip and MIME helpers. */
  userData(options?: CallOptions): Promise<Buffer>;
  networkInterfaces(options?: CallOptions): Promise<NetworkInterface[]>;
  networkInterface(id: string, options?: CallOptions): Promise<NetworkInterface>;
  volumeAttachments(options?: CallOptions): Promise<VolumeAttachment[]>;
  volumeAttachment(id: string, options?: CallOptions): Promise<VolumeAttachment>;
  /** Every SSH key, following pages lazily. */
  keys(options?: CallOptions): AsyncGenerator<Key, void, undefined>;
  key(id: string, options?: CallOptions): Promise<Key>;
  /** One OpenSSH `authorized_keys` line per SSH key. */
  sshKeys(options?: CallOptions): Promise<string[]>;
  /** Every placement group, following pages lazily. */
  placementGroups(options?: CallOptions): AsyncGenerator<PlacementGroup, void, undefined>;
  placementGroup(id: string, options?: CallOptions): Promise<PlacementGroup>;
  /** `GET /metadata/v1/{path}` (a query may follow, not `version`). */
  get<T = Json>(path: string, options?: CallOptions): Promise<T>;
  /** Like `get`, page by page following `next.href`. */
  getPages<T = Json>(path: string, options?: CallOptions): AsyncGenerator<T, void, undefined>;
  /** Like `get`, every page merged into one document. */
  getAll<T = Json>(path: string, options?: CallOptions): Promise<T>;
}

/** IAM tokens for one trusted profile, cached while fresh (one refresh at a time). */
export declare class IamTokenCache {
  constructor(client: Client, profile?: ProfileOptions);
  token(options?: CallOptions): Promise<Token>;
}

/** One leaf of a MIME multi-part user data document. */
export interface UserDataPart {
  /** `text/cloud-config`, ...; null when the data is not multi-part. */
  contentType: string | null;
  filename: string | null;
  charset: string | null;
  /** The part's bytes, transfer encoding removed. */
  data: Buffer;
}

/** User data helpers (the data stays bytes until you ask). */
export declare const userData: {
  /** Limit on decompressed data, bytes. */
  readonly GUNZIP_LIMIT: number;
  isGzip(data: Uint8Array): boolean;
  /** The data without gzip compression (the same bytes when not compressed). */
  decompress(data: Uint8Array): Buffer;
  isMultipart(data: Uint8Array): boolean;
  /** The leaf parts of a MIME multi-part document (the whole data as one part otherwise). */
  parts(data: Uint8Array): UserDataPart[];
  /** The (decompressed) data as text. */
  text(data: Uint8Array, encoding?: BufferEncoding): string;
};

/** Error kinds, the same in every binding. */
export type ErrorKind =
  | 'invalid_input'
  | 'refused'
  | 'timed_out'
  | 'connection_lost'
  | 'unauthorized'
  | 'not_found'
  | 'rate_limited'
  | 'server_error'
  | 'rejected'
  | 'bad_response';

/** Base class of every error a call rejects with. The message never holds a token. */
export declare class ImdsError extends Error {
  /** The error kind. */
  readonly code: ErrorKind;
  /** HTTP status the service answered with. */
  readonly status: number | null;
  /** IBM's error code, e.g. `not_found`. */
  readonly errorCode: string | null;
  /** IBM's error message. */
  readonly errorMessage: string | null;
  /** IBM's trace id. */
  readonly trace: string | null;
  /** The field, header or parameter at fault. */
  readonly target: string | null;
  /** The `Retry-After` seconds the service asked for. */
  readonly retryAfter: number | null;
  /** `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol` or `misuse`. */
  readonly reason: string | null;
  /** For transport failures: `refused`, `unreachable`, `connect_timeout`, `response_timeout`, `connection_lost` or `tls`. */
  readonly transport: string | null;
}
export declare class InvalidInputError extends ImdsError { readonly code: 'invalid_input'; }
export declare class RefusedError extends ImdsError { readonly code: 'refused'; }
export declare class TimedOutError extends ImdsError { readonly code: 'timed_out'; }
export declare class ConnectionLostError extends ImdsError { readonly code: 'connection_lost'; }
export declare class UnauthorizedError extends ImdsError { readonly code: 'unauthorized'; }
export declare class NotFoundError extends ImdsError { readonly code: 'not_found'; }
export declare class RateLimitedError extends ImdsError { readonly code: 'rate_limited'; }
export declare class ServerError extends ImdsError { readonly code: 'server_error'; }
export declare class RejectedError extends ImdsError { readonly code: 'rejected'; }
export declare class BadResponseError extends ImdsError { readonly code: 'bad_response'; }
