// The two documents that need more than a plain object: a token (its secret never
// shows in JSON.stringify, util.inspect or String()) and user data (bytes).

import { gunzip, leafParts } from './backend.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const REDACTED = '[REDACTED]';

/**
 * An identity token or IAM token: `accessToken` is a getter over a private field,
 * so the secret stays out of `JSON.stringify`, `util.inspect`/`console.log`,
 * `String()` and spreads.
 */
class Token {
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

/** Limit on decompressed user data, in bytes (IBM accepts at most 64 KiB of it). */
const GUNZIP_LIMIT = 16 * 1024 * 1024;

function isGzip(data) {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

function plain(data) {
  return isGzip(data) ? UserData.from(gunzip(data, GUNZIP_LIMIT)) : data;
}

/**
 * The instance's user data as given at creation: a `Uint8Array` (it may be a
 * cloud-config, a script, a MIME multi-part document or gzip data) with helpers.
 * Gzip and MIME are the driver's (the same code in every binding): gzip with every
 * member CRC-checked and at most 16 MiB out (`RangeError` past it), MIME leaves with
 * base64 and quoted-printable removed.
 */
class UserData extends Uint8Array {
  /** Whether the data is gzip-compressed (starts with the gzip magic bytes). */
  get isGzip() {
    return isGzip(this);
  }

  /** The data with gzip removed (itself when not compressed). */
  decompress() {
    return plain(this);
  }

  /** Whether the (decompressed) data is a MIME multi-part document. */
  isMultipart() {
    try {
      return leafParts(plain(this)) !== null;
    } catch (e) {
      if (e instanceof RangeError) throw e;
      return false;
    }
  }

  /**
   * The leaf parts of a MIME multi-part document, in order: `{contentType, filename,
   * charset, data}` (`data` with its transfer encoding removed); the whole data as one
   * part (`contentType` null) when it is not multi-part. Throws when it is malformed.
   */
  parts() {
    const data = plain(this);
    return leafParts(data) ?? [{ contentType: null, filename: null, charset: null, data: data.slice() }];
  }

  /** The (decompressed) data decoded as text (UTF-8 unless `encoding`; `fatal` throws on invalid bytes). */
  text({ encoding = 'utf-8', fatal = false } = {}) {
    return new TextDecoder(encoding, { fatal }).decode(plain(this));
  }

  /** The bytes as text, as a Node `Buffer`'s `toString(encoding)` gives them (gzip kept;
   * a `Buffer`'s encodings where there is one, else `TextDecoder`'s). */
  toString(encoding = 'utf-8') {
    const { Buffer } = globalThis;
    return Buffer ? Buffer.from(this.buffer, this.byteOffset, this.length).toString(encoding) : new TextDecoder(encoding).decode(this);
  }

  [INSPECT]() {
    return `UserData(${this.length} bytes${this.isGzip ? ', gzip' : ''})`;
  }

  // Derived arrays (slice, map, ...) are plain Uint8Arrays.
  static get [Symbol.species]() {
    return Uint8Array;
  }
}

/** The user data helpers over any bytes (a `UserData`'s methods). */
const userData = Object.freeze({
  GUNZIP_LIMIT,
  isGzip: (data) => isGzip(data),
  decompress: (data) => UserData.from(data).decompress(),
  isMultipart: (data) => UserData.from(data).isMultipart(),
  parts: (data) => UserData.from(data).parts(),
  text: (data, encoding = 'utf-8') => UserData.from(data).text({ encoding }),
});

export { Token, UserData, userData, GUNZIP_LIMIT };
