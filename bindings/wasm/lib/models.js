// The two documents that need more than a plain object: a token (its secret never
// shows in JSON.stringify, util.inspect or String()) and user data (bytes).

import { BadResponseError } from './errors.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

const REDACTED = '[REDACTED]';

/**
 * An identity token or IAM token, as the Node package (`vpc-imds`) gives it:
 * `accessToken` is a getter over a private field, so the secret stays out of
 * `JSON.stringify`, `util.inspect`/`console.log`, `String()` and spreads.
 */
export class Token {
  #accessToken;

  /** @param {object} doc the token document (IBM's field names) */
  constructor(doc) {
    this.#accessToken = String(doc?.access_token ?? '');
    /** Lifetime in seconds, as the service stated it. */
    this.expiresIn = doc?.expires_in ?? null;
    /** RFC 3339 creation time, when the service gave it. */
    this.createdAt = doc?.created_at ?? null;
    /** RFC 3339 expiry time, when the service gave it. */
    this.expiresAt = doc?.expires_at ?? null;
    Object.freeze(this);
  }

  /** The token itself (a JWT; a secret: never log it). */
  get accessToken() {
    return this.#accessToken;
  }

  toJSON() {
    return { access_token: REDACTED, expires_in: this.expiresIn, created_at: this.createdAt, expires_at: this.expiresAt };
  }

  toString() {
    return `Token(${REDACTED})`;
  }

  [INSPECT]() {
    return `Token { accessToken: '${REDACTED}', expiresIn: ${this.expiresIn}, expiresAt: ${JSON.stringify(this.expiresAt)} }`;
  }
}

const GZIP_LIMIT = 16 * 1024 * 1024;

/**
 * The instance's user data as given at creation: a `Uint8Array` (it may be a
 * cloud-config, a script, a MIME multi-part document or gzip data), with helpers.
 */
export class UserData extends Uint8Array {
  /** Whether the data is gzip-compressed (starts with the gzip magic bytes). */
  get isGzip() {
    return this.length >= 2 && this[0] === 0x1f && this[1] === 0x8b;
  }

  /** The data with gzip removed (itself when not compressed); at most 16 MiB. */
  async decompress() {
    if (!this.isGzip) return this;
    const stream = new Blob([this]).stream().pipeThrough(new DecompressionStream('gzip'));
    const chunks = [];
    let total = 0;
    for await (const chunk of stream) {
      total += chunk.length;
      if (total > GZIP_LIMIT) throw new BadResponseError(`bad response: decompressed user data exceeds ${GZIP_LIMIT} bytes`, { reason: 'body' });
      chunks.push(chunk);
    }
    const out = new UserData(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** The (decompressed) data decoded as UTF-8 text (throws on invalid UTF-8 unless `fatal` is false). */
  async text({ fatal = true } = {}) {
    return new TextDecoder('utf-8', { fatal }).decode(await this.decompress());
  }

  [INSPECT]() {
    return `UserData(${this.length} bytes${this.isGzip ? ', gzip' : ''})`;
  }

  // Derived arrays (slice, map, ...) are plain Uint8Arrays.
  static get [Symbol.species]() {
    return Uint8Array;
  }
}
