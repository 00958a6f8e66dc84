// The two documents that need more than a plain object: a token (its secret never
// shows in JSON.stringify, util.inspect or String()) and user data (bytes).

import { BadResponse } from './errors.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * An identity token or IAM token: `access_token` (a getter: the secret is not an
 * own property, so it stays out of `JSON.stringify`, `util.inspect`, `console.log`
 * and spreads), `created_at`, `expires_at`, `expires_in`, `nonce` (null when
 * absent) and `lifetime` (seconds, as the core judges it).
 */
export class Token {
  #secret;

  /** @param {object} doc the token document @param {number|null} lifetime */
  constructor(doc, lifetime) {
    this.#secret = String(doc?.access_token ?? '');
    this.created_at = doc?.created_at ?? null;
    this.expires_at = doc?.expires_at ?? null;
    this.expires_in = doc?.expires_in ?? null;
    this.nonce = doc?.nonce ?? null;
    this.lifetime = lifetime ?? null;
  }

  /** The token (a JWT). Send it; never log it. */
  get access_token() {
    return this.#secret;
  }

  /** The document without the secret (`access_token` shows its length only). */
  toJSON() {
    return { access_token: `<redacted, ${this.#secret.length} chars>`, ...this };
  }

  toString() {
    const shown = Object.entries(this).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    return `Token(access_token=<redacted, ${this.#secret.length} chars>${shown.length ? ', ' : ''}${shown.join(', ')})`;
  }

  [INSPECT]() {
    return this.toString();
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
      if (total > GZIP_LIMIT) throw new BadResponse(`bad response: decompressed user data exceeds ${GZIP_LIMIT} bytes`, { reason: 'body' });
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
