// The JavaScript host of the vpc-imds client machine (the driver's), shared by the
// npm packages `vpc-imds` (a napi addon, node:net) and `vpc-imds-wasm` (WebAssembly,
// fetch). Host glue only: HTTP (the backend's sockets, fetch, or the user's
// function), the clock (performance.now()), sleeping (setTimeout), the jitter seed
// and conversions. The machine decides everything else: each call steps its own
// operation, `step -> do what it says -> feed the result`.

import { Machine, SocketTransport, seed } from './backend.js';
import { InvalidInputError, bad, classify, errorFrom } from './errors.js';
import { Token, UserData } from './models.js';

/** Step kinds of the low-level `Machine` (its steps' `kind`), the same in every JavaScript host. */
const STEP = Object.freeze({ SEND: 0, READ: 1, CLOSE: 2, BACKOFF: 3, AWAIT: 4, PAGE: 5, DONE: 6, FAILED: 7 });
const { SEND, CLOSE, BACKOFF, AWAIT, PAGE, DONE, FAILED } = STEP;

/** The environment variable that overrides the default endpoint (Node, Deno). */
const ENDPOINT_ENV = 'VPC_IMDS_ENDPOINT';
/** Default endpoint. */
const DEFAULT_ENDPOINT = 'http://169.254.169.254';
/** Endpoint for secure access. */
const SECURE_ENDPOINT = 'https://api.metadata.cloud.ibm.com';

const TIMEOUT = Symbol('timeout');
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

function readEnv() {
  try {
    const g = globalThis;
    if (g.Deno?.env?.get) return g.Deno.env.get(ENDPOINT_ENV) || undefined;
    return g.process?.env?.[ENDPOINT_ENV] || undefined;
  } catch {
    return undefined; // Deno without --allow-env
  }
}

let connectAgent = () => undefined;

/**
 * @internal For Node, whose fetch (undici) finishes a connect even after the request
 * that wanted it was aborted: `find()` gives undici's `Agent` class (or undefined),
 * with which each fetch transport gets a dispatcher whose pending connects end with its calls.
 */
function useConnectAgent(find) {
  let found;
  connectAgent = () => {
    if (found === undefined) {
      try {
        found = { Agent: find() };
      } catch {
        found = { Agent: undefined }; // plain fetch, as in any other host
      }
    }
    return found.Agent;
  };
}

/**
 * One fetch transport's undici dispatcher. Its sockets take an AbortSignal (undici
 * hands its connect options to `net.connect`/`tls.connect`); once an exchange has been
 * cut (aborted, or past its deadline) and no exchange is left, that signal destroys
 * the dispatcher's sockets, a connect still under way among them, and the next
 * exchange gets a new dispatcher. Idle kept-alive sockets do not hold the process.
 */
class Connections {
  #Agent;
  #agent = null;
  #close = null;
  #busy = 0;
  #cut = false;

  constructor(Agent) {
    this.#Agent = Agent;
  }

  acquire() {
    if (this.#agent === null) {
      this.#close = new AbortController();
      this.#agent = new this.#Agent({ connect: { signal: this.#close.signal } });
    }
    this.#busy += 1;
    return this.#agent;
  }

  release(cut) {
    this.#busy -= 1;
    this.#cut ||= cut;
    if (this.#busy > 0 || !this.#cut) return;
    this.#close.abort();
    this.#agent.destroy().catch(() => {});
    this.#agent = null;
    this.#cut = false;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `value` as `undefined` (absent) or a value of the JavaScript type asked for. */
function opt(value, type, what) {
  if (value === undefined || value === null) return undefined;
  if (type === 'number' && (typeof value !== 'number' || Number.isNaN(value))) throw bad(what, 'a number');
  if (type === 'integer' && !(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) throw bad(what, 'a whole number');
  if (type === 'string' && typeof value !== 'string') throw bad(what, 'a string');
  // Crossing into the machine would turn a lone surrogate into U+FFFD silently.
  if (type === 'string' && LONE_SURROGATE.test(value)) throw bad(what, 'well-formed Unicode (a lone surrogate)');
  if (type === 'boolean' && typeof value !== 'boolean') throw bad(what, 'true or false');
  if (type === 'function' && typeof value !== 'function') throw bad(what, 'a function');
  return value;
}

function checkSignal(signal) {
  if (signal !== undefined && signal !== null && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw bad('signal', 'an AbortSignal');
  }
  return signal ?? undefined;
}

/** Resolves after `ms`, or when the machine wakes `op` (`waiters`); rejects with the
 * signal's reason on abort. */
function pause(ms, signal, waiters, op) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const end = (error) => {
      clearTimeout(timer);
      waiters?.delete(op);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const done = () => end();
    const onAbort = () => end(signal.reason);
    const timer = setTimeout(done, Math.max(0, ms));
    waiters?.set(op, done);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * What a custom transport receives: method, absolute URL, headers, body, the
 * milliseconds left for the exchange and the connect timeout, and an AbortSignal that
 * fires at the deadline or when the call is aborted. The `Authorization` header holds
 * the token: it is redacted in `toJSON`, `toString` and `util.inspect`.
 */
class HttpRequest {
  #headers;

  constructor(step, timeout, signal) {
    this.method = step.method;
    this.url = step.url;
    this.target = step.target;
    this.body = step.body ?? undefined;
    this.timeout = timeout;
    this.connectTimeout = Math.min(step.connectTimeout ?? timeout, timeout);
    this.signal = signal;
    this.#headers = Object.fromEntries(step.headers);
  }

  /** `{name: value}`; `Host` and `Content-Length` are left to your HTTP stack. */
  get headers() {
    return this.#headers;
  }

  toJSON() {
    const headers = { ...this.#headers };
    if (headers.Authorization) headers.Authorization = 'Bearer <redacted>';
    return { method: this.method, url: this.url, headers, body: this.body ?? null, timeout: this.timeout };
  }

  toString() {
    return `HttpRequest(${this.method} ${this.url})`;
  }

  [INSPECT]() {
    return this.toString();
  }
}

/** The value of header `name`; with `all`, every line's value joined by ", " (as
 * `Headers.get` joins them), else the first line's. */
function header(headers, name, all = false) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  const values = [];
  for (const [k, v] of entries) {
    if (String(k).toLowerCase() !== lower || v === undefined) continue;
    if (!all) return String(Array.isArray(v) ? v[0] : v);
    values.push(...(Array.isArray(v) ? v.map(String) : [String(v)]));
  }
  return values.length > 0 ? values.join(', ') : undefined;
}

function asBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw Object.assign(new TypeError('a transport response body must be a Uint8Array, ArrayBuffer or string'), { transport: 'connection_lost' });
}

/** Reads a fetch body, stopping one chunk past `limit` (the machine refuses it then). */
async function readBody(response, limit) {
  const length = Number(response.headers.get('content-length') ?? NaN);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  // Whole at once when the size is known, allowed and not compressed (fetch's fastest
  // path); else chunk by chunk, so that no body grows past the limit in memory.
  if (!response.body || (!encoded && length >= 0 && length <= limit)) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total > limit) {
      reader.cancel().catch(() => {});
      break;
    }
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return body;
}

/**
 * A transport over `fetch` (the host's by default, looked up at each call, or the
 * function you give): never redirected (a browser hides a redirect as status 0,
 * which the machine refuses), no cache, no credentials, no proxy variables read. The
 * body is read up to one chunk past `maxBytes` (the machine refuses it then).
 * @param {typeof fetch} [fetchImpl]
 * @param {number} [maxBytes]
 * @returns {(request: HttpRequest) => Promise<{status: number, headers: Headers, body: Uint8Array}>}
 */
function fetchTransport(fetchImpl, maxBytes = Infinity) {
  if (fetchImpl !== undefined && typeof fetchImpl !== 'function') throw bad('fetchTransport', 'given a fetch function');
  // Node's own fetch: a dispatcher whose connects end with this transport's calls.
  let connections;
  return async (request) => {
    const fetch = fetchImpl ?? globalThis.fetch;
    if (connections === undefined) {
      const Agent = fetchImpl === undefined ? connectAgent() : undefined;
      connections = Agent ? new Connections(Agent) : null;
    }
    const init = {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      redirect: 'manual',
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    };
    if (request.body !== undefined && request.body !== null) init.body = request.body;
    if (connections) init.dispatcher = connections.acquire();
    try {
      const response = await fetch(request.url, init);
      return { status: response.status, headers: response.headers, body: await readBody(response, maxBytes) };
    } finally {
      connections?.release(Boolean(request.signal?.aborted));
    }
  };
}

/** A transport function (fetch's, or the user's) as the client steps it: the request
 * as an `HttpRequest` in, a whole response out, every failure classified. */
class FunctionTransport {
  constructor(m, fn, now) {
    Object.assign(this, { m, fn, now });
  }

  close() {} // the function's HTTP stack keeps its own connections

  /** Sends the request of step `s` and feeds back what came of it. */
  async exchange(op, s, signal) {
    const { m, now } = this;
    const left = s.until - now();
    if (left <= 0) return m.fail(op, 'response_timeout', now());
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(TIMEOUT), left);
    const onAbort = () => abort.abort(signal.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let r;
    let body;
    try {
      const request = new HttpRequest(s, left, abort.signal);
      r = await Promise.race([
        this.fn(request),
        // A transport that ignores its signal still ends at the deadline.
        new Promise((_, reject) => {
          if (abort.signal.aborted) reject(abort.signal.reason);
          abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
        }),
      ]);
      if (!Number.isInteger(r?.status) || r.status < 0 || r.status > 999) {
        throw Object.assign(new TypeError('a transport must resolve to {status, headers?, body?} with an integer status'), { transport: 'connection_lost' });
      }
      body = asBytes(r.body);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      return m.fail(op, abort.signal.aborted ? 'response_timeout' : classify(e), now());
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    // The framing the host's stack saw: the core refuses what its own reader would.
    const codings = header(r.headers, 'transfer-encoding', true);
    return m.respond(op, r.status, header(r.headers, 'retry-after'), body, now(), codings);
  }
}

/**
 * A client of the IBM Cloud VPC Instance Metadata Service.
 *
 * Concurrent calls share one identity token and one IAM token per trusted profile,
 * each fetched by one of them at a time; each call is its own operation of the
 * client's machine, so retries, backoff, `Retry-After`, the 401 refresh and the
 * deadline apply per call. Every call takes an optional `{signal}`: aborting it
 * rejects the call with the signal's reason and sends nothing more.
 */
class Client {
  #m;
  #origin = performance.now();
  /** Operation id -> the wake-up of its token wait. */
  #waiters = new Map();
  #transport;

  /**
   * @param {object} [options] see `ClientOptions` in index.d.ts (times in seconds)
   */
  constructor(options = {}) {
    if (typeof options !== 'object' || options === null) throw bad('options', 'an object');
    const o = options;
    const fetchImpl = opt(o.fetch, 'function', 'fetch');
    const transport = opt(o.transport, 'function', 'transport');
    const useEnv = opt(o.useEnv, 'boolean', 'useEnv') ?? true;
    // The backend's sockets unless a transport function is given (or there are none).
    const sockets = SocketTransport && transport === undefined && fetchImpl === undefined;
    this.#m = new Machine(
      opt(o.endpoint, 'string', 'endpoint'),
      useEnv ? readEnv() : undefined,
      opt(o.secure, 'boolean', 'secure') ?? false,
      opt(o.version, 'string', 'version'),
      opt(o.tokenLifetime, 'integer', 'tokenLifetime'),
      opt(o.timeout, 'number', 'timeout'),
      opt(o.connectTimeout, 'number', 'connectTimeout'),
      opt(o.requestTimeout, 'number', 'requestTimeout'),
      opt(o.maxAttempts, 'integer', 'maxAttempts'),
      opt(o.baseDelay, 'number', 'baseDelay'),
      opt(o.maxDelay, 'number', 'maxDelay'),
      opt(o.maxResponseBytes, 'integer', 'maxResponseBytes'),
      seed(),
      sockets,
    );
    const now = () => this.now();
    this.#transport = sockets
      ? new SocketTransport(this.#m, { ca: o.ca }, now)
      : new FunctionTransport(this.#m, transport ?? fetchTransport(fetchImpl, this.#m.maxResponseBytes), now);
  }

  /** The service's base URL. */
  get endpoint() {
    return this.#m.endpoint;
  }

  /** The API version date. */
  get version() {
    return this.#m.version;
  }

  toString() {
    return `Client(endpoint=${this.endpoint}, version=${this.version})`;
  }

  [INSPECT]() {
    return this.toString();
  }

  /** Closes idle connections (the client stays usable; fetch keeps its own). */
  close() {
    this.#transport.close();
  }

  // -- plumbing ----------------------------------------------------------------

  /** Milliseconds on this client's clock (one origin for every call: token times use it). */
  now() {
    return performance.now() - this.#origin;
  }

  /** The machine ended these operations' token waits. */
  #wake(ops) {
    for (const op of ops) this.#waiters.get(op)?.();
  }

  #start(op, a, options) {
    const signal = checkSignal(options?.signal);
    signal?.throwIfAborted();
    return this.#m.start(
      op, this.now(), a.id, a.expiresIn, a.profileId, a.profileCrn, a.profileName, a.csr, a.path, a.allPages ?? false, a.max,
    );
  }

  /** Abandons `op` (aborted, or an iterator left early): its connection is closed. */
  #abandon(op) {
    const conn = this.#m.cancel(op);
    if (conn !== undefined && conn !== null) this.#transport.close(conn);
    this.#wake(this.#m.woken());
  }

  /** Steps `op` from step `s` to its next page or its result; throws its failure. */
  async #drive(op, s, signal) {
    const m = this.#m;
    for (;;) {
      if (s.woken) this.#wake(s.woken);
      switch (s.kind) {
        case SEND:
          s = await this.#transport.exchange(op, s, signal);
          break;
        case BACKOFF:
        case AWAIT:
          await pause(s.until - this.now(), signal, s.kind === AWAIT ? this.#waiters : undefined, op);
          s = m.step(op, this.now());
          break;
        case CLOSE:
          this.#transport.close(s.conn);
          s = m.step(op, this.now());
          break;
        case PAGE:
        case DONE:
          return s;
        case FAILED:
          throw errorFrom(s.error);
        default: // READ comes only inside an exchange
          s = m.fail(op, 'connection_lost', this.now());
      }
    }
  }

  /** Runs one operation to its result step. */
  async #one(op, args, options) {
    const id = this.#start(op, args, options);
    let s;
    try {
      s = await this.#drive(id, this.#m.step(id, this.now()), options?.signal);
      return s;
    } finally {
      if (s === undefined) this.#abandon(id);
    }
  }

  /** Runs one operation, yielding each page and the result. */
  async *#pages(op, args, options) {
    const id = this.#start(op, args, options);
    let over = false;
    try {
      let s = this.#m.step(id, this.now());
      for (;;) {
        s = await this.#drive(id, s, options?.signal);
        over = s.kind === DONE;
        yield s;
        if (over) return;
        s = this.#m.step(id, this.now());
      }
    } finally {
      if (!over) this.#abandon(id);
    }
  }

  /** The document of a one-step operation. */
  async #value(op, args, options) {
    return (await this.#one(op, args, options)).value;
  }

  // -- identity ----------------------------------------------------------------

  /**
   * Creates a new instance identity token (`PUT .../token`); it is also the token
   * this client uses from now on. `expiresIn`: 5..3600 seconds.
   * @returns {Promise<Token>}
   */
  async identityToken(options = {}) {
    return new Token(await this.#value('identity_token', { expiresIn: opt(options.expiresIn, 'integer', 'expiresIn') }, options));
  }

  /**
   * An IAM token of the instance's default trusted profile, or of the linked profile
   * given by `profileId`, `profileCrn` or `profileName` (one at most): cached per
   * profile while fresh (one exchange at a time), else exchanged for the identity token.
   * @returns {Promise<Token>}
   */
  async iamToken(options = {}) {
    return new Token(await this.#value('iam_token', profileOf(options), options));
  }

  /** Creates an instance identity certificate for a PEM certificate request. */
  async identityCertificate(csr, options = {}) {
    const args = { csr: opt(csr, 'string', 'csr') ?? '', expiresIn: opt(options.expiresIn, 'integer', 'expiresIn') };
    return this.#value('identity_certificate', args, options);
  }

  /** Resolves once the service answers (identity token requests with backoff), or
   * rejects with `TimedOutError` after `max` seconds (default 60). */
  async waitUntilReady(max, options = {}) {
    await this.#one('wait_until_ready', { max: opt(max, 'number', 'max') }, options);
  }

  // -- metadata ----------------------------------------------------------------

  /** `GET /metadata/v1/instance`. */
  async instance(options) {
    return this.#value('instance', {}, options);
  }

  /** `GET /metadata/v1/instance/initialization`: keys, user data, default profile. */
  async initialization(options) {
    return this.#value('initialization', {}, options);
  }

  /** The user data as bytes (empty if none), with gzip, MIME and text helpers. */
  async userData(options) {
    const bytes = (await this.#one('user_data', {}, options)).bytes;
    const out = new UserData(bytes.length);
    out.set(bytes);
    return out;
  }

  /** `GET /metadata/v1/instance/network_interfaces`: the list. */
  async networkInterfaces(options) {
    return (await this.#value('network_interfaces', {}, options)).network_interfaces;
  }

  /** `GET /metadata/v1/instance/network_interfaces/{id}`. */
  async networkInterface(id, options) {
    return this.#value('network_interface', { id: opt(id, 'string', 'id') ?? '' }, options);
  }

  /** `GET /metadata/v1/instance/volume_attachments`: the list. */
  async volumeAttachments(options) {
    return (await this.#value('volume_attachments', {}, options)).volume_attachments;
  }

  /** `GET /metadata/v1/instance/volume_attachments/{id}`. */
  async volumeAttachment(id, options) {
    return this.#value('volume_attachment', { id: opt(id, 'string', 'id') ?? '' }, options);
  }

  /** Every SSH key (`GET /metadata/v1/keys`), following pages as you iterate. */
  async *keys(options) {
    for await (const page of this.#pages('keys', {}, options)) yield* page.value.keys;
  }

  /** `GET /metadata/v1/keys/{id}`. */
  async key(id, options) {
    return this.#value('key', { id: opt(id, 'string', 'id') ?? '' }, options);
  }

  /** One OpenSSH `authorized_keys` line per SSH key, every page. */
  async sshKeys(options) {
    return this.#value('ssh_keys', {}, options);
  }

  /** Every placement group (`GET /metadata/v1/placement_groups`), following pages as you iterate. */
  async *placementGroups(options) {
    for await (const page of this.#pages('placement_groups', {}, options)) yield* page.value.placement_groups;
  }

  /** `GET /metadata/v1/placement_groups/{id}`. */
  async placementGroup(id, options) {
    return this.#value('placement_group', { id: opt(id, 'string', 'id') ?? '' }, options);
  }

  /** `GET /metadata/v1/{path}` (the path may carry a query, not `version`): the JSON document. */
  async get(path, options) {
    return this.#value('get', { path: opt(path, 'string', 'path') ?? '' }, options);
  }

  /** Like `get`, following `next.href` page by page as you iterate. */
  async *getPages(path, options) {
    const p = opt(path, 'string', 'path') ?? '';
    for await (const page of this.#pages('get', { path: p, allPages: true }, options)) yield page.value;
  }

  /** Like `get`, following every page and merging them into one document (the
   * first page's members but `next`, each list holding the items of every page). */
  async getAll(path, options) {
    const p = opt(path, 'string', 'path') ?? '';
    // The machine merges each page as it arrives and hands out at once, as text, what
    // the page added to the document: no page is kept. The text is parsed once, at the end.
    const parts = [];
    for await (const page of this.#pages('get_all', { path: p }, options)) parts.push(page.json);
    return JSON.parse(parts.join(''));
  }
}

function profileOf(o) {
  return {
    profileId: opt(o?.profileId, 'string', 'profileId'),
    profileCrn: opt(o?.profileCrn, 'string', 'profileCrn'),
    profileName: opt(o?.profileName, 'string', 'profileName'),
  };
}

/**
 * IAM tokens for one trusted profile, cached by the core's policy: refreshed after
 * `lifetime - clamp(lifetime/5, 1 s, 300 s)`, by one call at a time while the others
 * use the still-valid token (or wait when there is none); if a refresh fails while
 * the old token is valid, the old token serves. The client caches every profile's
 * token the same way; this names one profile.
 */
class IamTokenCache {
  #client;
  #profile;

  /**
   * @param {Client} client
   * @param {{profileId?: string, profileCrn?: string, profileName?: string}} [profile]
   *   at most one; none: the instance's default trusted profile
   */
  constructor(client, profile = {}) {
    if (!(client instanceof Client)) throw bad('client', 'a Client');
    this.#client = client;
    // Checked by each call (it rejects); more than one profile is refused at once.
    this.#profile = { profileId: profile?.profileId, profileCrn: profile?.profileCrn, profileName: profile?.profileName };
    if (Object.values(this.#profile).filter((v) => v !== undefined && v !== null).length > 1) {
      throw new InvalidInputError('invalid input: give at most one of profileId, profileCrn and profileName', { reason: 'input' });
    }
  }

  /** The IAM token, from the cache or freshly fetched. @returns {Promise<Token>} */
  token(options) {
    return this.#client.iamToken({ ...this.#profile, signal: options?.signal });
  }

  toString() {
    return 'IamTokenCache()';
  }

  [INSPECT]() {
    return this.toString();
  }
}

export {
  Client, IamTokenCache, HttpRequest, fetchTransport, useConnectAgent, asBytes, STEP, ENDPOINT_ENV, DEFAULT_ENDPOINT,
  SECURE_ENDPOINT,
};
