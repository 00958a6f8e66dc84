// Types of what the host glue adds to the generated surface (index.d.ts): transports,
// user data, the IAM token cache and the low-level machine. Shared by `vpc-imds` and
// `vpc-imds-wasm`.
import type { Client, ErrorRecord, MachineSettings, OperationArgs, Token, TransportErrorName } from './index.js';

/** A JSON document of the metadata service (IBM's field names). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A document as `get` returns it. */
export interface Document {
  id?: string;
  [field: string]: Json | undefined;
}

/** How a client sends its requests (the other `ClientOptions`). */
export interface HostOptions {
  /** Use `fetch` (this function) instead of the built-in transport. The built-in
   * transport is node:net/node:tls sockets under Node (both packages) and Deno, and
   * `globalThis.fetch` where there are no sockets (vpc-imds-wasm in browsers). */
  fetch?: typeof globalThis.fetch;
  /** CA certificates (PEM) to trust for `https` with the built-in node:tls transport;
   * refused (`InvalidInputError`) with `fetch`, a `transport`, or where the built-in
   * transport is fetch (browsers): those trust what their platform trusts. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Your own HTTP: resolve to the response's parts, or throw a `TransportError`. */
  transport?: Transport;
  /** Read `VPC_IMDS_ENDPOINT` (default true). */
  useEnv?: boolean;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call: it rejects with the signal's reason and sends nothing more. */
  signal?: AbortSignal;
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
  /** The client's `maxResponseBytes`: a longer body is refused, so reading past it is waste. */
  readonly maxBytes: number;
}
/** Its 0.1.0 name in vpc-imds. */
export type TransportRequest = HttpRequest;

/** A response as a custom transport gives it. */
export interface TransportResponse {
  status: number;
  /** Only `Retry-After` and `Transfer-Encoding` are read, each field's lines joined
   * by ", " (a repeated `Retry-After` is no delay; a coding other than a lone
   * `chunked`, which your stack removed, is a bad response). Node's `rawHeaders`
   * (flat) keep every line; its `headers` object keeps one `Retry-After`. */
  headers?: Headers | Record<string, string | string[]> | Array<[string, string]> | string[];
  /** The decoded (de-chunked) body. */
  body?: Uint8Array | ArrayBuffer | string | null;
}

/** Your own HTTP for a client. Throw to report a transport failure: an error whose
 * `transport` is one of the `TransportErrorName`s (e.g. `new TransportError('refused')`),
 * or socket errors (`ECONNREFUSED`, ...), which are mapped. */
export type Transport = (request: HttpRequest) => Promise<TransportResponse>;

/** A transport over `fetch` (the host's by default): never redirected, no cache, no credentials. */
export declare function fetchTransport(fetchImpl?: typeof fetch, maxBytes?: number): Transport;

/** Throw it from a custom transport to say how an exchange failed. */
export declare class TransportError extends Error {
  constructor(transport: TransportErrorName, detail?: string);
  readonly transport: TransportErrorName;
}
/** How an exchange failed, from what fetch or a transport threw. */
export declare function classify(error: unknown): TransportErrorName;

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
  /** Without gzip (itself when not compressed); at most 16 MiB (else BadResponseError). */
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

/** An IAM token for one trusted profile, cached by the core's policy (one refresh at a time). */
export declare class IamTokenCache {
  constructor(client: Client, profile?: TrustedProfile);
  /** The IAM token, cached while fresh. */
  token(options?: CallOptions): Promise<Token>;
}

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
  /** DONE of a token: its lifetime in seconds as the core judges it. */
  lifetime?: number;
  /** SEND: the request's HTTP/1.1 bytes (they hold the token: never log them). */
  wire?: Uint8Array;
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
  /** Throws `InvalidInputError` naming a bad setting; `envEndpoint` is `VPC_IMDS_ENDPOINT`'s value. */
  constructor(settings?: MachineSettings, envEndpoint?: string, seed?: Uint8Array);
  readonly endpoint: string;
  readonly version: string;
  readonly maxResponseBytes: number;
  readonly operations: number;
  /** Starts an operation (`instance`, ..., `get`, `get_all`, `user_data`, `ssh_keys`,
   * `wait_until_ready`): its id; throws `InvalidInputError`. */
  start(op: string, now: number, args?: OperationArgs): number;
  step(op: number, now: number): Step;
  /** HTTP/1.1 bytes read from the operation's connection (empty: it closed). */
  feed(op: number, data: Uint8Array, now: number): Step;
  /** A whole response from the host's HTTP stack; `transferEncoding` is the
   * `Transfer-Encoding` value as `Headers.get` joins it (a coding the core's reader
   * refuses fails the call as `bad_response`). */
  respond(op: number, status: number, retryAfter: string | undefined, body: Uint8Array, now: number, transferEncoding?: string): Step;
  fail(op: number, name: TransportErrorName, now: number): Step;
  /** Abandons an operation: the connection to close, if it had a request in flight. */
  cancel(op: number): number | undefined;
  /** The idle connections to close for a client's `close`, forgotten by the machine. */
  closeIdle(): ArrayLike<number> & Iterable<number>;
  /** Operations whose token wait ended (after a `cancel`). */
  woken(): ArrayLike<number> & Iterable<number>;
  /** After a SEND step: its HTTP/1.1 bytes, once (they hold the token; also the step's
   * `wire`); empty after any other step. */
  takeBytes(): Uint8Array;
  /** Frees the machine now (WebAssembly memory; else it goes with the object). */
  free(): void;
}
