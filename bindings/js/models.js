// User data: bytes, with the driver's gzip and MIME helpers (the Token, the other
// document that needs more than a plain object, is generated: api.js).

import { gunzip, userDataParts, isMultipart } from './backend.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
/** The driver's limit on decompressed user data, in bytes (IBM accepts at most 64 KiB
 * of it); kept here because the module is not loaded yet when this one evaluates, and
 * the tests check it against the driver's. */
const GUNZIP_LIMIT = 16 * 1024 * 1024;

function isGzip(data) {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

function plain(data) {
  return isGzip(data) ? UserData.from(gunzip(data)) : data;
}

/**
 * The instance's user data as given at creation: a `Uint8Array` (it may be a
 * cloud-config, a script, a MIME multi-part document or gzip data) with helpers.
 * Gzip and MIME are the driver's (the same code in every binding): gzip with every
 * member CRC-checked and at most 16 MiB out, MIME leaves with base64 and
 * quoted-printable removed; what cannot be read is a `BadResponseError` (the
 * driver's record, as in every binding).
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

  /** Whether the (decompressed) data is a well-formed MIME multi-part document. */
  isMultipart() {
    return isMultipart(this);
  }

  /**
   * The parts, as every binding gives them: gzip removed, then the leaf parts of a MIME
   * multi-part document in order (nested documents included), `{contentType, filename,
   * charset, data}` with `data`'s transfer encoding removed; or the whole data as one
   * part (`contentType` null) when it is not multi-part; none when it is empty. Throws
   * `BadResponseError` when the gzip or the document is malformed or too large.
   */
  parts() {
    return userDataParts(this);
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

export { UserData, userData, GUNZIP_LIMIT };
