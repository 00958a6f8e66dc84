'use strict';
// The Promise client: each call steps its own operation of the client's machine
// (the driver's), which decides everything else: tokens, retries, backoff,
// deadlines, connections, pages, validation. JavaScript owns the sockets, timers
// and the clock.

const native = require('./native.js');
const { SocketTransport, CustomTransport } = require('./transport.js');
const { toError, invalidInput } = require('./errors.js');

/** Step kinds, the same numbers in every JavaScript host of the machine. */
const STEP = Object.freeze({ SEND: 0, READ: 1, CLOSE: 2, BACKOFF: 3, AWAIT: 4, PAGE: 5, DONE: 6, FAILED: 7 });
const { SEND, CLOSE, BACKOFF, AWAIT, PAGE, DONE, FAILED } = STEP;

/** The environment variable that overrides the default endpoint. */
const ENDPOINT_ENV = 'VPC_IMDS_ENDPOINT';
const REDACTED = '[REDACTED]';
const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * An identity or IAM token. `accessToken` holds the secret; it is left out of
 * `util.inspect`, `JSON.stringify` and `String(token)`.
 */
class Token {
  #accessToken;
  constructor(doc) {
    this.#accessToken = doc.access_token;
    /** Lifetime in seconds, as the service stated it. */
    this.expiresIn = doc.expires_in ?? null;
    /** RFC 3339 creation time, when the service gave it. */
    this.createdAt = doc.created_at ?? null;
    /** RFC 3339 expiry time, when the service gave it. */
    this.expiresAt = doc.expires_at ?? null;
    Object.freeze(this);
  }

  /** The token itself (a secret: never log it). */
  get accessToken() {
    return this.#accessToken;
  }

  toJSON() {
    return { access_token: REDACTED, expires_in: this.expiresIn, created_at: this.createdAt, expires_at: this.expiresAt };
  }

  toString() {
    return `Token(${REDACTED})`;
  }

  [inspect]() {
    return `Token { accessToken: '${REDACTED}', expiresIn: ${this.expiresIn}, expiresAt: ${JSON.stringify(this.expiresAt)} }`;
  }
}

const num = (v, what) => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw invalidInput(`${what} must be a number`);
  return v;
};
const str = (v, what) => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidInput(`${what} must be a string`);
  return v;
};
const int = (v, what) => {
  const n = num(v, what);
  if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 0xffffffff)) throw invalidInput(`${what} must be a whole number`);
  return n;
};

function checkSignal(signal) {
  if (signal !== undefined && signal !== null && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw invalidInput('signal must be an AbortSignal');
  }
  return signal || undefined;
}

/** A promise for `ms` milliseconds; rejects with the signal's reason on abort. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(ms, 0));
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A client of the VPC Instance Metadata Service. Calls may run concurrently: they
 * share one identity token and one IAM token per trusted profile, each fetched by
 * one of them at a time (single flight).
 */
class Client {
  #m;
  #clock;
  #transport;
  /** Operation id -> the wake-up of its token wait. */
  #waiters = new Map();

  constructor(options = {}) {
    if (typeof options !== 'object' || options === null) throw invalidInput('options must be an object');
    const useEnv = options.useEnv !== false;
    const envEndpoint = useEnv ? process.env[ENDPOINT_ENV] : undefined;
    const custom = options.transport !== undefined && options.transport !== null;
    const m = native.machine(
      {
        endpoint: str(options.endpoint, 'endpoint'),
        envEndpoint: envEndpoint || undefined,
        secure: options.secure === undefined ? undefined : Boolean(options.secure),
        version: str(options.version, 'version'),
        tokenLifetime: int(options.tokenLifetime, 'tokenLifetime'),
        timeout: num(options.timeout, 'timeout'),
        connectTimeout: num(options.connectTimeout, 'connectTimeout'),
        requestTimeout: num(options.requestTimeout, 'requestTimeout'),
        maxAttempts: int(options.maxAttempts, 'maxAttempts'),
        maxResponseBytes: num(options.maxResponseBytes, 'maxResponseBytes'),
      },
      require('node:crypto').randomBytes(8),
      custom,
    );
    if (typeof m === 'string') throw toError(JSON.parse(m));
    this.#m = m;
    const origin = performance.now();
    this.#clock = () => performance.now() - origin;
    this.#transport = custom ? new CustomTransport(options.transport) : new SocketTransport(m, { ca: options.ca });
  }

  /** The service's base URL. */
  get endpoint() {
    return this.#m.endpoint;
  }

  /** The API version date. */
  get version() {
    return this.#m.version;
  }

  /** Closes idle connections (the client stays usable). */
  close() {
    this.#transport.close();
  }

  toString() {
    return `Client(${this.endpoint})`;
  }

  [inspect]() {
    return `Client { endpoint: '${this.endpoint}', version: '${this.version}' }`;
  }

  // -- plumbing -----------------------------------------------------------------

  /** The machine ended these operations' token waits. */
  #wake(ids) {
    for (const id of ids) {
      const wake = this.#waiters.get(id);
      if (wake) wake();
    }
  }

  /** Until the machine wakes `op`, or `ms` have passed; rejects on abort. */
  #woken(op, ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) return reject(signal.reason);
      const end = () => {
        clearTimeout(timer);
        this.#waiters.delete(op);
        if (signal) signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        end();
        reject(signal.reason);
      };
      const timer = setTimeout(() => (end(), resolve()), Math.max(ms, 0));
      this.#waiters.set(op, () => (end(), resolve()));
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #start(op, args, signal) {
    signal = checkSignal(signal);
    if (signal && signal.aborted) throw signal.reason;
    const id = this.#m.start(op, args, this.#clock());
    if (typeof id !== 'number') throw toError(JSON.parse(id));
    return id;
  }

  /** Abandons `op` (aborted, or an iterator left early): its connection is closed. */
  #abandon(op) {
    const conn = this.#m.cancel(op);
    if (conn !== null && conn !== undefined) this.#transport.close(conn);
    this.#wake(this.#m.woken());
  }

  /** Steps `op` from step `s` to its next page or its result; throws its failure. */
  async #drive(op, s, signal) {
    const m = this.#m;
    const clock = this.#clock;
    for (;;) {
      if (s.woken) this.#wake(s.woken);
      switch (s.kind) {
        case SEND:
          s = await this.#transport.exchange(m, op, s, signal, clock);
          break;
        case CLOSE:
          this.#transport.close(s.conn);
          s = m.step(op, clock());
          break;
        case BACKOFF:
          await sleep(s.until - clock(), signal);
          s = m.step(op, clock());
          break;
        case AWAIT:
          await this.#woken(op, s.until - clock(), signal);
          s = m.step(op, clock());
          break;
        case PAGE:
        case DONE:
          return s;
        case FAILED:
          throw toError(JSON.parse(s.error));
        default: // READ comes only inside an exchange
          s = m.fail(op, clock(), 'connection_lost');
      }
    }
  }

  /** Runs one operation to its result step. */
  async #one(op, args, signal) {
    const id = this.#start(op, args, signal);
    let s;
    try {
      s = await this.#drive(id, this.#m.step(id, this.#clock()), signal);
      return s;
    } finally {
      if (s === undefined) this.#abandon(id);
    }
  }

  /** Runs one operation, yielding each page and the result. */
  async *#pages(op, args, signal) {
    const id = this.#start(op, args, signal);
    let over = false;
    try {
      let s = this.#m.step(id, this.#clock());
      for (;;) {
        s = await this.#drive(id, s, signal);
        over = s.kind === DONE;
        yield s;
        if (over) return;
        s = this.#m.step(id, this.#clock());
      }
    } finally {
      if (!over) this.#abandon(id);
    }
  }

  // -- identity -------------------------------------------------------------------

  /**
   * Creates a new instance identity token (`PUT .../token`); it is also the token
   * this client uses from now on. `expiresIn`: 5..3600 seconds.
   */
  async identityToken(options = {}) {
    const out = await this.#one('identity_token', { expiresIn: int(options.expiresIn, 'expiresIn') }, options.signal);
    return new Token(JSON.parse(out.json));
  }

  /**
   * An IAM token of the instance's default trusted profile, or of the linked profile
   * given by `profileId`, `profileCrn` or `profileName` (one at most): cached per
   * profile while fresh (one exchange at a time), else exchanged for the identity token.
   */
  async iamToken(options = {}) {
    const out = await this.#one('iam_token', profileArgs(options), options.signal);
    return new Token(JSON.parse(out.json));
  }

  /** Creates an instance identity certificate for a PEM certificate request. */
  async identityCertificate(csr, options = {}) {
    const out = await this.#one('identity_certificate', { csr: str(csr, 'csr'), expiresIn: int(options.expiresIn, 'expiresIn') }, options.signal);
    return JSON.parse(out.json);
  }

  /** Waits until the service answers (identity token requests with backoff), for at most `max` seconds (default 60). */
  async waitUntilReady(max, options = {}) {
    await this.#one('wait_until_ready', { max: num(max, 'max') }, options.signal);
  }

  // -- metadata -------------------------------------------------------------------

  /** `GET /metadata/v1/instance`. */
  async instance(options = {}) {
    return JSON.parse((await this.#one('instance', undefined, options.signal)).json);
  }

  /** `GET /metadata/v1/instance/initialization`: keys, user data, default profile. */
  async initialization(options = {}) {
    return JSON.parse((await this.#one('initialization', undefined, options.signal)).json);
  }

  /** The user data as a Buffer (empty if none); see `userData` helpers for gzip and MIME. */
  async userData(options = {}) {
    return (await this.#one('user_data', undefined, options.signal)).bytes;
  }

  /** `GET /metadata/v1/instance/network_interfaces`. */
  async networkInterfaces(options = {}) {
    return JSON.parse((await this.#one('network_interfaces', undefined, options.signal)).json).network_interfaces;
  }

  /** `GET /metadata/v1/instance/network_interfaces/{id}`. */
  async networkInterface(id, options = {}) {
    return JSON.parse((await this.#one('network_interface', { id: str(id, 'id') }, options.signal)).json);
  }

  /** `GET /metadata/v1/instance/volume_attachments`. */
  async volumeAttachments(options = {}) {
    return JSON.parse((await this.#one('volume_attachments', undefined, options.signal)).json).volume_attachments;
  }

  /** `GET /metadata/v1/instance/volume_attachments/{id}`. */
  async volumeAttachment(id, options = {}) {
    return JSON.parse((await this.#one('volume_attachment', { id: str(id, 'id') }, options.signal)).json);
  }

  /** Every SSH key (`GET /metadata/v1/keys`), following pages lazily. */
  async *keys(options = {}) {
    for await (const page of this.#pages('keys', undefined, options.signal)) yield* JSON.parse(page.json).keys;
  }

  /** `GET /metadata/v1/keys/{id}`. */
  async key(id, options = {}) {
    return JSON.parse((await this.#one('key', { id: str(id, 'id') }, options.signal)).json);
  }

  /** One OpenSSH `authorized_keys` line per SSH key, every page. */
  async sshKeys(options = {}) {
    return (await this.#one('ssh_keys', undefined, options.signal)).lines;
  }

  /** Every placement group (`GET /metadata/v1/placement_groups`), following pages lazily. */
  async *placementGroups(options = {}) {
    for await (const page of this.#pages('placement_groups', undefined, options.signal)) yield* JSON.parse(page.json).placement_groups;
  }

  /** `GET /metadata/v1/placement_groups/{id}`. */
  async placementGroup(id, options = {}) {
    return JSON.parse((await this.#one('placement_group', { id: str(id, 'id') }, options.signal)).json);
  }

  /** `GET /metadata/v1/{path}` (the path may carry a query, not `version`): the JSON document. */
  async get(path, options = {}) {
    return JSON.parse((await this.#one('get', { path: str(path, 'path') }, options.signal)).json);
  }

  /** Like `get`, following `next.href` page by page (lazily). */
  async *getPages(path, options = {}) {
    for await (const page of this.#pages('get', { path: str(path, 'path'), allPages: true }, options.signal)) yield JSON.parse(page.json);
  }

  /** Like `get`, following every page and merging them into one document. */
  async getAll(path, options = {}) {
    // The machine merges the pages as they arrive and hands out each part at once.
    const parts = [];
    for await (const part of this.#pages('get_all', { path: str(path, 'path') }, options.signal)) parts.push(part.json);
    return JSON.parse(parts.join(''));
  }
}

function profileArgs(options) {
  return {
    profileId: str(options.profileId, 'profileId'),
    profileCrn: str(options.profileCrn, 'profileCrn'),
    profileName: str(options.profileName, 'profileName'),
  };
}

/**
 * IAM tokens for one trusted profile, cached by the core's policy: refreshed
 * before expiry by one call at a time while the others use the still-valid token.
 * The client caches every profile's token the same way; this names one profile.
 */
class IamTokenCache {
  #client;
  #profile;

  constructor(client, options = {}) {
    if (!(client instanceof Client)) throw invalidInput('IamTokenCache needs a Client');
    this.#client = client;
    this.#profile = profileArgs(options);
  }

  /** The IAM token (from the cache while it is fresh). */
  token(options = {}) {
    return this.#client.iamToken({ ...this.#profile, signal: options.signal });
  }
}

module.exports = { Client, IamTokenCache, Token, ENDPOINT_ENV, STEP };
