'use strict';
// User data helpers: the data is a Buffer as given at creation (a cloud-config,
// a script, a MIME multi-part document, or gzip data); these look inside it only
// when asked.

/** Limit on decompressed user data, in bytes (IBM accepts at most 64 KiB of it). */
const GUNZIP_LIMIT = 16 * 1024 * 1024;

const native = require('./native');

/** Whether the data is gzip-compressed (starts with the gzip magic bytes). */
function isGzip(data) {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/** The data with gzip compression removed (the same bytes when not compressed). */
function decompress(data) {
  if (!isGzip(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    // The driver's gunzip: every member, CRC checked, bounded.
    return native.gunzip(Buffer.from(data.buffer, data.byteOffset, data.byteLength), GUNZIP_LIMIT);
  } catch (err) {
    if (/exceeds/.test(String(err && err.message))) throw new RangeError(`decompressed user data exceeds ${GUNZIP_LIMIT} bytes`);
    throw err;
  }
}

/** Whether the (decompressed) data is a well-formed MIME multi-part document. */
function isMultipart(data) {
  try {
    return native.mimeParts(decompress(data)) !== null;
  } catch {
    return false;
  }
}

/**
 * The leaf parts of a MIME multi-part document, in order (nested documents
 * included, bodies decoded: the driver's); the whole data as one part
 * (`contentType` null) when it is not multi-part. Throws when it is malformed.
 */
function parts(data) {
  const plain = decompress(data);
  const leaves = native.mimeParts(plain);
  if (leaves === null) return [{ contentType: null, filename: null, charset: null, data: plain }];
  return leaves.map((p) => ({ contentType: p.contentType, filename: p.filename ?? null, charset: p.charset ?? null, data: p.data }));
}

/** The (decompressed) data decoded as text (UTF-8 by default). */
function text(data, encoding = 'utf8') {
  return decompress(data).toString(encoding);
}

module.exports = { GUNZIP_LIMIT, isGzip, decompress, isMultipart, parts, text };
