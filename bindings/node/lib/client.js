'use strict';
// The Promise client: host glue around the native driver. JavaScript owns the
// sockets, timers and the clock; every protocol decision (tokens, retries,
// backoff, deadlines, pages, validation) is the driver's.

const native = require('./native.js');
const { SocketTransport, CustomTransport } = require('./transport.js');
const { toError, invalidInput } = require('./errors.js');

const SEND = 0;
const READ = 1;
const WAIT = 2;
const WAIT_FOR_TOKEN = 3;
const PAGE = 4;
const DONE = 5;
const FAILED = 6;
const STALE = 7;

/** The environment variable that overrides the default endpoint. */
const ENDPOINT_ENV = 'VPC_IMDS_ENDPOINT';
/** Most idle drivers a client keeps for reuse. */
const MAX_FREE = 64;
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
 * share one identity token, fetched by one of them at a time (single flight).
 */
class Client {
  #config;
  #tokens;
  #origin;
  #free = [];
  #waiters = new Set();
  #transport;
  #clock;

  constructor(options = {}) {
    if (typeof options !== 'object' || options === null) throw invalidInput('options must be an object');
    const useEnv = options.useEnv !== false;
    const envEndpoint = useEnv ? process.env[ENDPOINT_ENV] : undefined;
    const info = native.configure({
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
    });
    if (!(info instanceof native.NodeConfig)) throw toError(info);
    this.#config = info;
    this.#tokens = new native.NodeTokens();
    const origin = performance.now();
    this.#origin = origin;
    this.#clock = () => Math.floor(performance.now() - origin);
    this.#transport =
      options.transport === undefined || options.transport === null
        ? new SocketTransport(info, { ca: options.ca })
        : new CustomTransport(options.transport);
  }

  /** The service's base URL. */
  get endpoint() {
    return this.#config.endpoint;
  }

  /** The API version date. */
  get version() {
    return this.#config.version;
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

  #acquire() {
    return this.#free.pop() || new native.NodeDriver(this.#config, this.#tokens, Math.floor(Math.random() * 2 ** 53));
  }

  #release(driver) {
    if (driver.busy && driver.cancel()) this.#wake();
    if (this.#free.length < MAX_FREE) this.#free.push(driver);
  }

  /** A token share changed: every call waiting for it steps again. */
  #wake() {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  #waitForToken(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) return reject(signal.reason);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        if (signal) signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        reject(signal.reason);
      };
      const timer = setTimeout(done, Math.max(ms, 0));
      this.#waiters.add(done);
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Drives `driver` until the result (or a page, with `pages`) or a failure (thrown). */
  async #advance(driver, signal, pages) {
    const clock = this.#clock;
    let out = driver.tick(clock());
    for (;;) {
      if (out.changed) this.#wake();
      switch (out.kind) {
        case SEND:
          out = await this.#transport.exchange(clock, driver, out, signal);
          break;
        case WAIT:
          await sleep(out.until - clock(), signal);
          out = driver.tick(clock());
          break;
        case WAIT_FOR_TOKEN:
          await this.#waitForToken(out.until - clock(), signal);
          out = driver.tick(clock());
          break;
        case PAGE:
          if (pages) return out;
          // Merged by the driver (getAll): on to the next page.
          out = driver.tick(clock());
          break;
        case DONE:
          return out;
        case FAILED:
          throw toError(out.error);
        case READ:
        case STALE:
          out = driver.tick(clock());
          break;
        default:
          throw toError({ kind: 'invalid_input', text: 'session misuse: the driver has no operation running', cause: 'misuse' });
      }
    }
  }

  /** Runs one operation to its result. `start(driver, now)` starts it. */
  async _run(start, signal) {
    signal = checkSignal(signal);
    if (signal && signal.aborted) throw signal.reason;
    const driver = this.#acquire();
    try {
      const err = start(driver, this.#clock());
      if (err) throw toError(err);
      return await this.#advance(driver, signal);
    } finally {
      this.#release(driver);
    }
  }

  async #one(op, args, signal) {
    return this._run((d, now) => d.start(op, args, now), signal);
  }

  async *#pages(op, args, signal) {
    signal = checkSignal(signal);
    if (signal && signal.aborted) throw signal.reason;
    const driver = this.#acquire();
    try {
      const err = driver.start(op, args, this.#clock());
      if (err) throw toError(err);
      for (;;) {
        const out = await this.#advance(driver, signal, true);
        yield out;
        if (out.kind === DONE) return;
      }
    } finally {
      this.#release(driver);
    }
  }

  /** A cached IAM token operation over `cache` (see IamTokenCache). */
  _cachedIam(cache, profile, signal) {
    return this._run((d, now) => d.startCachedIam(cache, profile.profileId, profile.profileCrn, profile.profileName, now), signal);
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
   * Exchanges the identity token for an IAM token of the instance's default trusted
   * profile, or of the linked profile given by `profileId`, `profileCrn` or
   * `profileName` (one at most).
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

  /** Waits until the service answers (identity token requests with backoff), for at most `max` seconds. */
  async waitUntilReady(max = 30, options = {}) {
    await this._run((d, now) => d.startWaitUntilReady(num(max, 'max'), now), options.signal);
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
    return (await this.#one('initialization', { userData: true }, options.signal)).userData;
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
    const lines = [];
    for await (const page of this.#pages('keys', { sshKeys: true }, options.signal)) lines.push(...page.lines);
    return lines;
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
    return JSON.parse((await this.#one('get', { path: str(path, 'path'), merge: true }, options.signal)).json);
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
 */
class IamTokenCache {
  #client;
  #profile;
  #share = new native.NodeTokens();

  constructor(client, options = {}) {
    if (!(client instanceof Client)) throw invalidInput('IamTokenCache needs a Client');
    this.#client = client;
    this.#profile = profileArgs(options);
  }

  /** The IAM token (from the cache while it is fresh). */
  async token(options = {}) {
    const out = await this.#client._cachedIam(this.#share, this.#profile, options.signal);
    return new Token(JSON.parse(out.json));
  }
}

module.exports = { Client, IamTokenCache, Token, ENDPOINT_ENV };
