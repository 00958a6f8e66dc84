// Types of the npm packages `vpc-imds` (napi) and `vpc-imds-wasm` (WebAssembly): one
// client layer over two backends. Documents use IBM's field names (snake_case) as
// the service sends them; absent optional members are null.

/** A JSON document of the metadata service (IBM's field names). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A document: the instance, a key, a network interface, ... */
export interface Document {
  id?: string;
  [field: string]: Json | undefined;
}

// An absent optional member is null (the core's models serialize it so).

/** A reference `{ id, name, crn?, href?, resource_type? }` as IBM returns it. */
export interface Reference {
  id: string;
  name?: string | null;
  crn?: string | null;
  href?: string | null;
  resource_type?: string | null;
  [field: string]: unknown;
}

/** `GET /metadata/v1/instance` (IBM's field names; fields not listed are kept too). */
export interface Instance {
  id: string;
  crn: string;
  name: string;
  status?: string | null;
  created_at?: string | null;
  memory?: number | null;
  bandwidth?: number | null;
  vcpu?: { architecture?: string | null; count?: number; manufacturer?: string; [field: string]: unknown };
  profile?: Reference | null;
  image?: Reference | null;
  zone?: Reference | null;
  vpc?: Reference | null;
  resource_group?: Reference | null;
  primary_network_interface?: Reference | null;
  metadata_service?: { enabled?: boolean | null; protocol?: string; response_hop_limit?: number };
  [field: string]: unknown;
}

/** `GET /metadata/v1/instance/initialization`. */
export interface Initialization {
  keys?: Reference[] | null;
  user_data?: string | null;
  default_trusted_profile?: { auto_link?: boolean | null; target?: Reference };
  [field: string]: unknown;
}

/** A network interface. */
export interface NetworkInterface {
  id: string;
  name?: string | null;
  primary_ip?: { address?: string | null; [field: string]: unknown };
  subnet?: Reference | null;
  security_groups?: Reference[] | null;
  [field: string]: unknown;
}

/** A volume attachment. */
export interface VolumeAttachment {
  id: string;
  name?: string | null;
  type?: string | null;
  volume?: Reference | null;
  [field: string]: unknown;
}

/** An SSH key. */
export interface Key {
  id: string;
  name?: string | null;
  crn?: string | null;
  public_key: string;
  type?: string | null;
  length?: number | null;
  fingerprint?: string | null;
  created_at?: string | null;
  [field: string]: unknown;
}

/** A placement group. */
export interface PlacementGroup {
  id: string;
  name?: string | null;
  crn?: string | null;
  strategy?: string | null;
  [field: string]: unknown;
}

/** An instance identity certificate. */
export interface IdentityCertificate {
  /** PEM certificates: the leaf (CN = instance id) first, then the chain. */
  certificates: string[];
  id?: string | null;
  expires_at?: string | null;
  expires_in?: number | null;
  created_at?: string | null;
  [field: string]: unknown;
}

/** Options of a client; times are in seconds. */
export interface ClientOptions {
  /** `http://HOST[:PORT]` or `https://HOST[:PORT]`; default `$VPC_IMDS_ENDPOINT` (Node,
   * Deno) unless `useEnv` is false, else `http://169.254.169.254`
   * (`https://api.metadata.cloud.ibm.com` with `secure`). */
  endpoint?: string;
  /** Secure access (HTTPS only; an `http://` endpoint is upgraded). */
  secure?: boolean;
  /** API version date `YYYY-MM-DD` (default `2025-08-26`; earlier dates use the legacy identity paths). */
  version?: string;
  /** Identity token lifetime, 5..3600 seconds (default 300). */
  tokenLifetime?: number;
  /** A whole call, retries included (default 15). */
  timeout?: number;
  /** One exchange (default 5). */
  requestTimeout?: number;
  /** One connect (default 1; fetch cannot tell connecting from waiting, so the request timeout bounds both). */
  connectTimeout?: number;
  /** Attempts per request, the first included (1..255, default 4). */
  maxAttempts?: number;
  /** First backoff step (default 0.1). */
  baseDelay?: number;
  /** Largest backoff step (default 2). */
  maxDelay?: number;
  /** Largest response accepted in bytes (1 KiB..256 MiB, default 1 MiB). */
  maxResponseBytes?: number;
  /** Use `fetch` (this function) instead of the built-in transport: vpc-imds-wasm
   * always uses fetch (default `globalThis.fetch`). */
  fetch?: typeof globalThis.fetch;
  /** CA certificates (PEM) to trust for `https` with vpc-imds' built-in node:tls
   * transport (fetch hosts trust what their platform trusts). */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Your own HTTP: resolve to the response's parts, or throw a `TransportError`. */
  transport?: Transport;
  /** Read `VPC_IMDS_ENDPOINT` (default true). */
  useEnv?: boolean;
}

/** What a transport receives. `headers.Authorization`
 * holds the token: `toJSON`, `toString` and `util.inspect` redact it. */
export declare class HttpRequest {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** The absolute URL. */
  readonly url: string;
  /** Path and query. */
  readonly target: string;
  /** Headers to set (`Host` and `Content-Length` are your HTTP stack's). */
  readonly headers: Record<string, string>;
  /** JSON body, if any. */
  readonly body?: string;
  /** Milliseconds left for the whole exchange. */
  readonly timeout: number;
  /** Connect timeout in milliseconds. */
  readonly connectTimeout: number;
  /** Aborted when the exchange must end (deadline or the caller's signal). */
  readonly signal: AbortSignal;
}
/** Its 0.1.0 name in vpc-imds. */
export type TransportRequest = HttpRequest;

/** A response as a custom transport gives it. */
export interface TransportResponse {
  status: number;
  /** Only `Retry-After` and `Transfer-Encoding` are read (a coding other than a
   * lone `chunked`, which your stack removed, is a bad response). */
  headers?: Headers | Record<string, string> | Array<[string, string]>;
  /** The decoded (de-chunked) body. */
  body?: Uint8Array | ArrayBuffer | string | null;
}

/** Your own HTTP for a client. Throw to report a transport failure: an error whose
 * `transport` is one of the `TransportErrorName`s (e.g. `new TransportError('refused')`),
 * or socket errors (`ECONNREFUSED`, ...), which are mapped. */
export type Transport = (request: HttpRequest) => Promise<TransportResponse>;

/** A transport over `fetch` (the host's by default): never redirected, no cache, no credentials. */
export declare function fetchTransport(fetchImpl?: typeof fetch, maxBytes?: number): Transport;

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call: it rejects with the signal's reason and sends nothing more. */
  signal?: AbortSignal;
}

/** An identity or IAM token. `accessToken` is left out of
 * inspect, JSON and toString. */
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

/** One leaf of a MIME multi-part user data document. */
export interface UserDataPart {
  /** `text/cloud-config`, ...; null when the data is not multi-part. */
  contentType: string | null;
  filename: string | null;
  charset: string | null;
  /** The part's bytes, transfer encoding removed. */
  data: Uint8Array;
}

/** The instance's user data as bytes, with helpers (gzip and MIME are the driver's). */
export declare class UserData extends Uint8Array {
  /** Whether it starts with the gzip magic bytes. */
  readonly isGzip: boolean;
  /** Without gzip (itself when not compressed); at most 16 MiB (else RangeError). */
  decompress(): UserData;
  /** Whether the (decompressed) data is a MIME multi-part document. */
  isMultipart(): boolean;
  /** The leaf parts of a MIME multi-part document (the whole data as one part otherwise). */
  parts(): UserDataPart[];
  /** The (decompressed) data as text (UTF-8 unless `encoding`; `fatal` throws on invalid bytes). */
  text(options?: { encoding?: string; fatal?: boolean }): string;
  /** The bytes as text, as a Node `Buffer`'s `toString(encoding)` (gzip kept). */
  toString(encoding?: string): string;
}

/** Limit on decompressed user data, bytes. */
export declare const GUNZIP_LIMIT: number;
/** The user data helpers over any bytes. */
export declare const userData: {
  readonly GUNZIP_LIMIT: number;
  isGzip(data: Uint8Array): boolean;
  decompress(data: Uint8Array): UserData;
  isMultipart(data: Uint8Array): boolean;
  parts(data: Uint8Array): UserDataPart[];
  text(data: Uint8Array, encoding?: string): string;
};

/** A trusted profile, by at most one of id, CRN or name (none: the instance's default). */
export interface TrustedProfile {
  profileId?: string;
  profileCrn?: string;
  profileName?: string;
}

/** A client of the IBM Cloud VPC Instance Metadata Service. Concurrent calls share one
 * identity token, fetched by one of them at a time. */
export declare class Client {
  constructor(options?: ClientOptions);
  /** The service's base URL. */
  readonly endpoint: string;
  /** The API version date. */
  readonly version: string;
  /** Milliseconds on this client's monotonic clock. */
  now(): number;
  /** Closes idle connections (fetch keeps its own); the client stays usable. */
  close(): void;

  /** A new instance identity token (`expiresIn` 5..3600 s); the client uses it from now on. */
  identityToken(options?: CallOptions & { expiresIn?: number }): Promise<Token>;
  /** An IAM token for the default trusted profile or the one given, cached per profile while fresh. */
  iamToken(options?: CallOptions & TrustedProfile): Promise<Token>;
  /** An instance identity certificate for a PEM certificate request. */
  identityCertificate(csr: string, options?: CallOptions & { expiresIn?: number }): Promise<IdentityCertificate>;
  /** Resolves once the service answers; rejects with `TimedOutError` after `max` seconds (default 60). */
  waitUntilReady(max?: number, options?: CallOptions): Promise<void>;

  instance(options?: CallOptions): Promise<Instance>;
  initialization(options?: CallOptions): Promise<Initialization>;
  /** The user data as bytes (empty if none). */
  userData(options?: CallOptions): Promise<UserData>;
  networkInterfaces(options?: CallOptions): Promise<NetworkInterface[]>;
  networkInterface(id: string, options?: CallOptions): Promise<NetworkInterface>;
  volumeAttachments(options?: CallOptions): Promise<VolumeAttachment[]>;
  volumeAttachment(id: string, options?: CallOptions): Promise<VolumeAttachment>;
  /** Every SSH key, following pages as you iterate. */
  keys(options?: CallOptions): AsyncGenerator<Key, void, undefined>;
  key(id: string, options?: CallOptions): Promise<Key>;
  /** One OpenSSH `authorized_keys` line per key. */
  sshKeys(options?: CallOptions): Promise<string[]>;
  /** Every placement group, following pages as you iterate. */
  placementGroups(options?: CallOptions): AsyncGenerator<PlacementGroup, void, undefined>;
  placementGroup(id: string, options?: CallOptions): Promise<PlacementGroup>;
  /** `GET /metadata/v1/{path}` (a query may follow; not `version`). */
  get<T = Json>(path: string, options?: CallOptions): Promise<T>;
  /** Like `get`, page by page. */
  getPages<T = Json>(path: string, options?: CallOptions): AsyncGenerator<T, void, undefined>;
  /** Like `get`, every page merged into one document. */
  getAll<T = Json>(path: string, options?: CallOptions): Promise<T>;
}

/** An IAM token for one trusted profile, cached by the core's policy (one refresh at a time). */
export declare class IamTokenCache {
  constructor(client: Client, profile?: TrustedProfile);
  /** The IAM token, cached while fresh. */
  token(options?: CallOptions): Promise<Token>;
}

/** The error kinds, the same in every binding. */
export type ErrorKind =
  | 'invalid_input' | 'refused' | 'timed_out' | 'connection_lost' | 'unauthorized'
  | 'not_found' | 'rate_limited' | 'server_error' | 'rejected' | 'bad_response';

/** Base class of every error a call rejects with. Messages never hold a token. */
export declare class ImdsError extends Error {
  constructor(message: string, fields?: {
    status?: number | null; errorCode?: string | null; errorMessage?: string | null; trace?: string | null;
    target?: string | null; retryAfter?: number | null; reason?: ImdsError['reason']; transport?: TransportErrorName | null;
  });
  /** The error kind, the same in every binding. */
  readonly code: ErrorKind;
  /** HTTP status the service answered with. */
  readonly status: number | null;
  /** IBM's error code (`errors[0].code`), e.g. `not_found`. */
  readonly errorCode: string | null;
  /** IBM's error message (`errors[0].message`). */
  readonly errorMessage: string | null;
  /** IBM's trace id. */
  readonly trace: string | null;
  /** The field, header or parameter at fault (`errors[0].target.name`). */
  readonly target: string | null;
  /** The `Retry-After` seconds the service asked for. */
  readonly retryAfter: number | null;
  readonly reason: 'input' | 'transport' | 'deadline' | 'http' | 'body' | 'api' | 'protocol' | 'misuse' | null;
  readonly transport: TransportErrorName | null;
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
export declare const ERRORS_BY_KIND: Readonly<Record<ErrorKind, typeof ImdsError>>;

export type TransportErrorName =
  | 'refused' | 'unreachable' | 'connect_timeout' | 'response_timeout' | 'connection_lost' | 'tls';
/** Throw it from a custom transport to say how an exchange failed. */
export declare class TransportError extends Error {
  constructor(transport: TransportErrorName, detail?: string);
  readonly transport: TransportErrorName;
}
/** How an exchange failed, from what fetch or a transport threw. */
export declare function classify(error: unknown): TransportErrorName;

export declare const ENDPOINT_ENV: 'VPC_IMDS_ENDPOINT';
export declare const DEFAULT_ENDPOINT: 'http://169.254.169.254';
export declare const SECURE_ENDPOINT: 'https://api.metadata.cloud.ibm.com';

/** Merges a list's pages (JSON bytes) as `getAll` does; JSON bytes out. */
export declare function mergePages(pages: Uint8Array[]): Uint8Array;

// -- low level: the driver itself, for hosts with their own loop -----------------

/** Step kinds (`step.kind`), the same numbers in every JavaScript host of the machine. */
export declare const STEP: Readonly<{
  SEND: 0; READ: 1; CLOSE: 2; BACKOFF: 3; AWAIT: 4; PAGE: 5; DONE: 6; FAILED: 7;
}>;

/** The machine's error record, the same shape in every host. */
export interface ErrorRecord {
  kind: ErrorKind;
  message: string;
  cause: string;
  status: number | null;
  retry_after: number | null;
  code: string | null;
  api_message: string | null;
  target: string | null;
  trace: string | null;
  transport: TransportErrorName | null;
}

/** A step of one operation of the machine: what to do next. */
export interface Step {
  kind: number;
  /** Operations whose token wait this step ended: step them now. */
  woken?: number[];
  /** SEND / CLOSE: the connection (socket hosts; fetch hosts ignore it and CLOSE). */
  conn?: number;
  /** SEND: connect `conn` first. */
  fresh?: boolean;
  /** SEND: method, URL, target, headers, body; the exchange's deadline (`until`, ms),
   * the time it has left and the connect timeout (ms). */
  method?: string;
  url?: string;
  target?: string;
  headers?: Array<[string, string]>;
  body?: string;
  until?: number;
  timeout?: number;
  connectTimeout?: number;
  /** PAGE/DONE: the record's type and value (a document, `ssh_keys` lines, null for `ready`). */
  typeName?: string;
  value?: Json;
  /** DONE of `user_data`: the bytes. */
  bytes?: Uint8Array;
  /** PAGE and DONE of `get_all`: what that page added to the merged JSON document,
   * to be joined in order. */
  json?: string;
  /** FAILED: the error record. */
  error?: ErrorRecord;
}

/** The client machine a Client steps (one per client). Times are ms on one clock. */
export declare class Machine {
  constructor(
    endpoint?: string, envEndpoint?: string, secure?: boolean, version?: string, tokenLifetime?: number,
    timeout?: number, connectTimeout?: number, requestTimeout?: number, maxAttempts?: number,
    baseDelay?: number, maxDelay?: number, maxResponseBytes?: number, seed?: Uint8Array,
  );
  readonly endpoint: string;
  readonly version: string;
  readonly maxResponseBytes: number;
  readonly operations: number;
  /** Starts an operation (`instance`, ..., `get`, `get_all`, `user_data`, `ssh_keys`,
   * `wait_until_ready` with `max` seconds): its id; throws `InvalidInputError`. */
  start(
    op: string, now: number, id?: string, expiresIn?: number, profileId?: string, profileCrn?: string,
    profileName?: string, csr?: string, path?: string, allPages?: boolean, max?: number,
  ): number;
  step(op: number, now: number): Step;
  /** HTTP/1.1 bytes read from the operation's connection (empty: it closed). */
  bytes(op: number, data: Uint8Array, now: number): Step;
  /** A whole response from the host's HTTP stack; `transferEncoding` is the
   * `Transfer-Encoding` value as `Headers.get` joins it (a coding the core's reader
   * refuses fails the call as `bad_response`). */
  respond(op: number, status: number, retryAfter: string | undefined, body: Uint8Array, now: number, transferEncoding?: string): Step;
  fail(op: number, name: TransportErrorName, now: number): Step;
  /** Abandons an operation: the connection to close, if it had a request in flight. */
  cancel(op: number): number | undefined;
  /** Operations whose token wait ended (after a `cancel`). */
  woken(): ArrayLike<number> & Iterable<number>;
  /** After a SEND step: its HTTP/1.1 bytes (they hold the token). */
  takeBytes(): Uint8Array;
  /** Frees the machine now (WebAssembly memory; else it goes with the object). */
  free(): void;
}
