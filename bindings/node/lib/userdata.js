'use strict';
// User data helpers: the data is a Buffer as given at creation (a cloud-config,
// a script, a MIME multi-part document, or gzip data); these look inside it only
// when asked.

/** Limit on decompressed user data, in bytes (IBM accepts at most 64 KiB of it). */
const GUNZIP_LIMIT = 16 * 1024 * 1024;

/** Whether the data is gzip-compressed (starts with the gzip magic bytes). */
function isGzip(data) {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/** The data with gzip compression removed (the same bytes when not compressed). */
function decompress(data) {
  if (!isGzip(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const zlib = require('node:zlib');
  try {
    return zlib.gunzipSync(data, { maxOutputLength: GUNZIP_LIMIT });
  } catch (err) {
    if (err && err.code === 'ERR_BUFFER_TOO_LARGE') throw new RangeError(`decompressed user data exceeds ${GUNZIP_LIMIT} bytes`);
    throw err;
  }
}

/** Splits a header block into [lower-case name, value] pairs (folded lines joined). */
function headers(block) {
  const out = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1][1] += ' ' + line.trim();
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

/** Whether the (decompressed) data is a MIME multi-part document. */
function isMultipart(data) {
  const head = decompress(data).subarray(0, 4096).toString('latin1').trimStart();
  const end = headEnd(head);
  for (const [name, value] of headers(end ? head.slice(0, end[0]) : head)) {
    if (name === 'content-type') return contentType(value).type.startsWith('multipart/');
  }
  return false;
}

function decodeBody(raw, encoding) {
  switch ((encoding || '').toLowerCase()) {
    case 'base64':
      return Buffer.from(raw.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable': {
      const text = raw.toString('latin1').replace(/=\r?\n/g, '');
      return Buffer.from(text.replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    }
    default:
      return Buffer.from(raw);
  }
}

function walk(entity, out, depth) {
  const text = entity.toString('latin1');
  const end = headEnd(text);
  const head = end ? headers(text.slice(0, end[0])) : [];
  const body = end ? entity.subarray(end[1]) : entity;
  const get = (n) => (head.find(([k]) => k === n) || [])[1];
  const ct = contentType(get('content-type'));
  if (ct.type.startsWith('multipart/') && ct.params.boundary && depth < 8) {
    const delimiter = `--${ct.params.boundary}`;
    const bodyText = body.toString('latin1');
    let pos = bodyText.indexOf(delimiter);
    while (pos >= 0) {
      let start = pos + delimiter.length;
      if (bodyText.startsWith('--', start)) break; // closing delimiter
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
 * The leaf parts of a MIME multi-part document, in order; the whole data as one
 * part (`contentType` null) when it is not multi-part.
 */
function parts(data) {
  const plain = decompress(data);
  if (!isMultipart(plain)) return [{ contentType: null, filename: null, charset: null, data: plain }];
  const out = [];
  walk(plain, out, 0);
  return out;
}

/** The (decompressed) data decoded as text (UTF-8 by default). */
function text(data, encoding = 'utf8') {
  return decompress(data).toString(encoding);
}

module.exports = { GUNZIP_LIMIT, isGzip, decompress, isMultipart, parts, text };
