// The JavaScript host of the vpc-imds client machine (the driver's), shared by the
// npm packages `vpc-imds` (a napi addon, node:net) and `vpc-imds-wasm` (WebAssembly,
// fetch). Host glue only: HTTP (the backend's sockets, fetch, or the user's
// function), the clock (performance.now()), sleeping (setTimeout), the jitter seed
// and conversions. The machine decides everything else: each call steps its own
// operation, `step -> do what it says -> feed the result`.

import { onAbort } from './abort.js';
import { Machine, SocketTransport, seed, transportFailure } from './backend.js';
import { bad, classify as classifyBy, errorFrom } from './errors.js';
import { Operations, CALL, PAGES, settingsOf } from './operations.js';

/** Checks an operation's arguments without running it (`Client`'s). */
const CHECK = Symbol('check');

/** Step kinds of the low-level `Machine` (its steps' `kind`), the same in every JavaScript host. */
const STEP = Object.freeze({ SEND: 0, READ: 1, CLOSE: 2, BACKOFF: 3, AWAIT: 4, PAGE: 5, DONE: 6, FAILED: 7 });
const { SEND, CLOSE, BACKOFF, AWAIT, PAGE, DONE, FAILED } = STEP;

/** The environment variable that overrides the default endpoint (Node, Deno). */
const ENDPOINT_ENV = 'VPC_IMDS_ENDPOINT';
/** Default endpoint. */
const DEFAULT_ENDPOINT = 'http://169.254.169.254';
/** Endpoint for secure access. */
const SECURE_ENDPOINT = 'https://api.metadata.cloud.ibm.com';

/** The reason an exchange's signal gives at its deadline (fetch and your transport see it). */
const deadlinePassed = () => new DOMException("the exchange's deadline passed", 'TimeoutError');
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

let found;

/**
 * Node's fetch (undici) finishes a connect even after the request that wanted it was
 * aborted: undici's `Agent`, the class of Node's global dispatcher (set once undici is
 * loaded, which a fetch of a data: URL does), gives each fetch transport a dispatcher
 * whose pending connects end with its calls. Undefined elsewhere (browsers, Deno), and
 * when the global dispatcher is not a plain Agent (a proxying one is another class).
 */
function connectAgent() {
  if (found === undefined) {
    found = { Agent: undefined };
    try {
      if (globalThis.process?.versions?.undici) {
        const key = Symbol.for('undici.globalDispatcher.1');
        if (globalThis[key] === undefined) globalThis.fetch('data:,').catch(() => {});
        const Agent = globalThis[key]?.constructor;
        if (typeof Agent === 'function' && Agent.name === 'Agent') found.Agent = Agent;
      }
    } catch {
      // plain fetch, as in any other host
    }
  }
  return found.Agent;
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
  #timeout = 0;

  constructor(Agent) {
    this.#Agent = Agent;
  }

  /** The dispatcher for an exchange whose connect may take `connectTimeout` ms (a
   * request's is the setting, or less near the call's deadline: an idle dispatcher
   * made for less is made again). */
  acquire(connectTimeout) {
    const timeout = Math.max(1, Math.ceil(connectTimeout));
    if (this.#agent !== null && this.#busy === 0 && timeout > this.#timeout) this.#drop();
    if (this.#agent === null) {
      this.#close = new AbortController();
      // Each of its sockets listens on it: no MaxListenersExceededWarning past ten
      // (the browser entry under Node has no socket transport: Node 20.16+ only).
      if (SocketTransport) SocketTransport.quiet(this.#close.signal);
      else globalThis.process?.getBuiltinModule?.('node:events')?.setMaxListeners(0, this.#close.signal);
      this.#timeout = timeout;
      this.#agent = new this.#Agent({ connect: { signal: this.#close.signal, timeout } });
    }
    this.#busy += 1;
    return this.#agent;
  }

  release(cut) {
    this.#busy -= 1;
    this.#cut ||= cut;
    if (this.#busy > 0 || !this.#cut) return;
    this.#drop();
  }

  #drop() {
    this.#close.abort();
    this.#agent.destroy().catch(() => {});
    this.#agent = null;
    this.#cut = false;
  }
}

/** `value` as `undefined` (absent) or a value of the JavaScript type asked for (the
 * options the machine does not take; it checks its settings and arguments itself). */
function opt(value, type, what) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw bad(what, type === 'boolean' ? 'true or false' : `a ${type}`);
  return value;
}

function checkSignal(signal) {
  // What the client uses of a signal (an older AbortSignal polyfill lacks throwIfAborted).
  if (signal !== undefined && signal !== null && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean'
    || typeof signal.addEventListener !== 'function' || typeof signal.removeEventListener !== 'function')) {
    throw bad('signal', 'an AbortSignal');
  }
  return signal ?? undefined;
}

/** Resolves after `ms`, or when the machine wakes `op` (`waiters`); rejects with the
 * signal's reason on abort. */
function pause(ms, signal, waiters, op) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let timer;
    let off;
    const end = (error) => {
      clearTimeout(timer);
      waiters?.delete(op);
      off?.();
      if (error === undefined) resolve();
      else reject(error);
    };
    const done = () => end();
    timer = setTimeout(done, Math.max(0, ms));
    waiters?.set(op, done);
    off = signal && onAbort(signal, () => end(signal.reason));
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

  constructor(step, timeout, signal, maxBytes) {
    this.method = step.method;
    this.url = step.url;
    this.target = step.target;
    this.body = step.body ?? undefined;
    this.timeout = timeout;
    this.connectTimeout = Math.min(step.connectTimeout ?? timeout, timeout);
    this.signal = signal;
    this.maxBytes = maxBytes;
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

/** The value of header `name`: every line's value joined by ", ", as `Headers.get`
 * joins them (the core reads a repeated `Retry-After` as no delay). `headers`: a
 * `Headers`, an object (array values are lines), `[name, value]` pairs, or Node's
 * flat `rawHeaders` (whose `headers` object keeps one `Retry-After` line only). */
function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  let entries = Array.isArray(headers) ? headers : Object.entries(headers);
  if (typeof entries[0] === 'string') entries = Array.from({ length: entries.length >> 1 }, (_, i) => [entries[2 * i], entries[2 * i + 1]]);
  const values = [];
  for (const [k, v] of entries) {
    if (String(k).toLowerCase() !== lower || v === undefined || v === null) continue;
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
 * which the machine refuses), no cache, no credentials. It is the host's fetch, with the
 * host's proxy settings (Deno's HTTP_PROXY, Node's NODE_USE_ENV_PROXY); the socket
 * transport that Node and Deno use by default reads none. The
 * body is read up to one chunk past `maxBytes` (default: the client's `maxResponseBytes`,
 * `request.maxBytes`; the machine refuses it then).
 * @param {typeof fetch} [fetchImpl]
 * @param {number} [maxBytes]
 * @returns {(request: HttpRequest) => Promise<{status: number, headers: Headers, body: Uint8Array}>}
 */
function fetchTransport(fetchImpl, maxBytes) {
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
    if (connections) init.dispatcher = connections.acquire(request.connectTimeout);
    try {
      const response = await fetch(request.url, init);
      return { status: response.status, headers: response.headers, body: await readBody(response, maxBytes ?? request.maxBytes ?? Infinity) };
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
    // Aborted already (between pages, say): a listener added now would never run.
    if (signal?.aborted) throw signal.reason;
    const left = s.until - now();
    if (left <= 0) return m.fail(op, 'response_timeout', now());
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(deadlinePassed()), left);
    const off = signal && onAbort(signal, () => abort.abort(signal.reason));
    let r;
    let body;
    try {
      const request = new HttpRequest(s, left, abort.signal, m.maxResponseBytes);
      r = await Promise.race([
        this.fn(request),
        // A transport that ignores its signal still ends at the deadline.
        new Promise((_, reject) => {
          if (abort.signal.aborted) reject(abort.signal.reason);
          abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
        }),
      ]);
      // Any integer: the machine judges the status (outside 100..599 a bad response).
      if (!Number.isInteger(r?.status)) {
        throw Object.assign(new TypeError('a transport must resolve to {status, headers?, body?} with an integer status'), { transport: 'connection_lost' });
      }
      // One byte past the limit is enough for the machine to refuse it: no more is
      // copied into the module.
      body = asBytes(r.body).subarray(0, m.maxResponseBytes + 1);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      const step = m.fail(op, abort.signal.aborted ? 'response_timeout' : classify(e), now());
      step.thrown = e; // the cause of the call's failure, should this be the last attempt
      return step;
    } finally {
      clearTimeout(timer);
      off?.();
    }
    // The framing the host's stack saw: the core refuses what its own reader would.
    const codings = header(r.headers, 'transfer-encoding');
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
class Client extends Operations {
  #m;
  #origin = performance.now();
  /** Operation id -> the wake-up of its token wait. */
  #waiters = new Map();
  #transport;

  /**
   * @param {object} [options] see `ClientOptions` in index.d.ts (times in seconds)
   */
  constructor(options = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw bad('options', 'an object');
    const o = options;
    const fetchImpl = opt(o.fetch, 'function', 'fetch');
    const transport = opt(o.transport, 'function', 'transport');
    const useEnv = opt(o.useEnv, 'boolean', 'useEnv') ?? true;
    // The backend's sockets unless a transport function is given (or there are none).
    const sockets = Boolean(SocketTransport) && transport === undefined && fetchImpl === undefined;
    const ca = o.ca ?? undefined;
    const pem = (v) => typeof v === 'string' || v instanceof Uint8Array;
    if (ca !== undefined && !(pem(ca) || (Array.isArray(ca) && ca.every(pem)))) throw bad('ca', 'PEM text, a Buffer, or an array of them');
    if (ca !== undefined && !sockets) throw bad('ca', 'left out: only the built-in socket transport uses it (fetch and a transport function bring their own TLS)');
    this.#m = new Machine(settingsOf(o), useEnv ? readEnv() : undefined, seed(), sockets);
    const now = () => this.now();
    this.#transport = sockets
      ? new SocketTransport(this.#m, { ca, failure: transportFailure }, now)
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

  /** Closes idle connections (the client stays usable; fetch keeps its own). The
   * machine says which: none a call is using, and it hands them out no more. */
  close() {
    for (const conn of this.#m.closeIdle()) this.#transport.close(conn);
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

  /** Starts `op` with `args` (by the description's names; the machine checks them). */
  #start(op, args, options) {
    const signal = checkSignal(options?.signal);
    if (signal?.aborted) throw signal.reason;
    return this.#m.start(op, this.now(), args);
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
    let thrown;
    for (;;) {
      if (s.woken) this.#wake(s.woken);
      switch (s.kind) {
        case SEND:
          s = await this.#transport.exchange(op, s, signal);
          thrown = s.thrown;
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
        case FAILED: {
          const error = errorFrom(s.error);
          // What your transport (or fetch) threw on the last attempt: its own words.
          if (thrown !== undefined && error.cause === undefined) error.cause = thrown;
          throw error;
        }
        default: // READ comes only inside an exchange
          s = m.fail(op, 'connection_lost', this.now());
      }
    }
  }

  /** Checks `op`'s arguments as starting it would, and sends nothing. */
  [CHECK](op, args) {
    this.#abandon(this.#m.start(op, this.now(), args));
  }

  /** Runs `op` to its result (the generated methods' runner): the document, the
   * lines, user data's bytes; the parts of a merged document (`get_all`'s pages, as
   * text) joined and parsed once, at the end. */
  async [CALL](op, args, options) {
    const id = this.#start(op, args, options);
    const parts = [];
    let over = false;
    try {
      for (let s = this.#m.step(id, this.now()); ; s = this.#m.step(id, this.now())) {
        s = await this.#drive(id, s, options?.signal);
        if (s.typeName === 'json') parts.push(s.json);
        if (s.kind !== DONE) continue;
        over = true;
        if (parts.length > 0) return JSON.parse(parts.join(''));
        // A token's `lifetime` (the Token model's) is the core's judgement, not in the document.
        if (s.lifetime !== undefined) s.value.lifetime = s.lifetime;
        return s.bytes ?? s.value;
      }
    } finally {
      if (!over) this.#abandon(id);
    }
  }

  /** Runs `op`, yielding each page's document as it arrives (the generated methods'). */
  async *[PAGES](op, args, options) {
    const id = this.#start(op, args, options);
    let over = false;
    try {
      for (let s = this.#m.step(id, this.now()); ; s = this.#m.step(id, this.now())) {
        s = await this.#drive(id, s, options?.signal);
        over = s.kind === DONE;
        yield s.value;
        if (over) return;
      }
    } finally {
      if (!over) this.#abandon(id);
    }
  }
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
    this.#profile = { profileId: profile?.profileId, profileCrn: profile?.profileCrn, profileName: profile?.profileName };
    // Refused here as the machine refuses it (more than one, empty, too long), as in Python.
    const { profileId, profileCrn, profileName } = this.#profile;
    client[CHECK]('iam_token', { profile_id: profileId, profile_crn: profileCrn, profile_name: profileName });
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

/** How an exchange failed, from what fetch or a transport threw (errno names by the
 * core's table). */
const classify = (error) => classifyBy(error, transportFailure);

export {
  Client, IamTokenCache, HttpRequest, fetchTransport, asBytes, classify, STEP, ENDPOINT_ENV,
  DEFAULT_ENDPOINT, SECURE_ENDPOINT,
};
