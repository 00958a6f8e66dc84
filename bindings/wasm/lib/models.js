// The two documents that need more than a plain object: a token (its secret never
// shows in JSON.stringify, util.inspect or String()) and user data (bytes).

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

/** Limit on decompressed user data, in bytes (IBM accepts at most 64 KiB of it). */
export const GUNZIP_LIMIT = 16 * 1024 * 1024;

function isGzip(data) {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

async function gunzip(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('gzip'));
  const chunks = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > GUNZIP_LIMIT) throw new RangeError(`decompressed user data exceeds ${GUNZIP_LIMIT} bytes`);
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

/** Bytes as a string of one character per byte (exact latin1, unlike TextDecoder's). */
function latin1(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return out;
}

function fromLatin1(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

// MIME multi-part, as the Node package's user data helpers read it.

/** Splits a header block into [lower-case name, value] pairs (folded lines joined). */
function headers(block) {
  const out = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1][1] += ` ${line.trim()}`;
    else {
      const i = line.indexOf(':');
      if (i > 0) out.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
    }
  }
  return out;
}

/** `type/subtype` and parameters of a Content-Type value. */
function contentType(value) {
  const [type, ...rest] = (value || 'text/plain').split(';');
  const params = {};
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return { type: type.trim().toLowerCase(), params };
}

/** Where the head ends: [end of head, start of body], or null. */
function headEnd(text) {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? [m.index, m.index + m[0].length] : null;
}

function multipart(plain) {
  const head = latin1(plain.subarray(0, 4096)).trimStart();
  const end = headEnd(head);
  for (const [name, value] of headers(end ? head.slice(0, end[0]) : head)) {
    if (name === 'content-type') return contentType(value).type.startsWith('multipart/');
  }
  return false;
}

function decodeBody(raw, encoding) {
  switch ((encoding || '').toLowerCase()) {
    case 'base64':
      return fromLatin1(atob(latin1(raw).replace(/[^A-Za-z0-9+/]/g, '')));
    case 'quoted-printable': {
      const text = latin1(raw).replace(/=\r?\n/g, '');
      return fromLatin1(text.replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
    }
    default:
      return raw.slice();
  }
}

function walk(entity, out, depth) {
  const text = latin1(entity);
  const end = headEnd(text);
  const head = end ? headers(text.slice(0, end[0])) : [];
  const body = end ? entity.subarray(end[1]) : entity;
  const get = (n) => (head.find(([k]) => k === n) || [])[1];
  const ct = contentType(get('content-type'));
  if (ct.type.startsWith('multipart/') && ct.params.boundary && depth < 8) {
    const delimiter = `--${ct.params.boundary}`;
    const bodyText = latin1(body);
    let pos = bodyText.indexOf(delimiter);
    while (pos >= 0) {
      let start = pos + delimiter.length;
      if (bodyText.startsWith('--', start)) break; // the closing delimiter
      start = bodyText.indexOf('\n', start);
      if (start < 0) break;
      start += 1;
      let next = bodyText.indexOf(delimiter, start);
      if (next < 0) next = bodyText.length;
      // The line break before a delimiter belongs to the delimiter.
      let stop = next;
      if (bodyText[stop - 1] === '\n') stop -= 1;
      if (bodyText[stop - 1] === '\r') stop -= 1;
      walk(body.subarray(start, Math.max(stop, start)), out, depth + 1);
      pos = next < bodyText.length ? next : -1;
    }
    return;
  }
  const disposition = contentType(get('content-disposition'));
  out.push({
    contentType: ct.type,
    filename: disposition.params.filename ?? null,
    charset: ct.params.charset ?? null,
    data: decodeBody(body, get('content-transfer-encoding')),
  });
}

/**
 * The instance's user data as given at creation: a `Uint8Array` (it may be a
 * cloud-config, a script, a MIME multi-part document or gzip data), with the Node
 * package's helpers as methods. They are async: browsers gunzip only with streams.
 */
export class UserData extends Uint8Array {
  /** Whether the data is gzip-compressed (starts with the gzip magic bytes). */
  get isGzip() {
    return isGzip(this);
  }

  /** The data with gzip removed (itself when not compressed); at most 16 MiB. */
  async decompress() {
    return this.isGzip ? gunzip(this) : this;
  }

  /** Whether the (decompressed) data is a MIME multi-part document. */
  async isMultipart() {
    return multipart(await this.decompress());
  }

  /**
   * The leaf parts of a MIME multi-part document, in order: `{contentType, filename,
   * charset, data}` (`data` with its transfer encoding removed); the whole data as one
   * part (`contentType` null) when it is not multi-part.
   */
  async parts() {
    const plain = await this.decompress();
    if (!multipart(plain)) return [{ contentType: null, filename: null, charset: null, data: plain.slice() }];
    const out = [];
    walk(plain, out, 0);
    return out;
  }

  /** The (decompressed) data decoded as text (UTF-8; `fatal` throws on invalid bytes). */
  async text({ encoding = 'utf-8', fatal = false } = {}) {
    return new TextDecoder(encoding, { fatal }).decode(await this.decompress());
  }

  [INSPECT]() {
    return `UserData(${this.length} bytes${this.isGzip ? ', gzip' : ''})`;
  }

  // Derived arrays (slice, map, ...) are plain Uint8Arrays.
  static get [Symbol.species]() {
    return Uint8Array;
  }
}

/** The Node package's `userData` helpers over any bytes (async here). */
export const userData = Object.freeze({
  GUNZIP_LIMIT,
  isGzip: (data) => isGzip(data),
  decompress: (data) => UserData.from(data).decompress(),
  isMultipart: (data) => UserData.from(data).isMultipart(),
  parts: (data) => UserData.from(data).parts(),
  text: (data, encoding = 'utf-8') => UserData.from(data).text({ encoding }),
});
