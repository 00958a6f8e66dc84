// The napi backend of the shared client layer (../../js): the driver's client machine
// in the native addon, presented as the WebAssembly package's `Machine` (the same
// arguments, steps and errors), and the node:net/node:tls transport.

import native from './native.js';
import { randomBytes } from 'node:crypto';
import { errorFrom } from './errors.js';
import { Machine as SharedMachine } from './machine.js';
import { SocketTransport } from './transport.js';

/** The client machine of one client; `sockets`: steps carry only the wire bytes. */
class Machine extends SharedMachine {
  /** `settings` by the description's names; `envEndpoint`: VPC_IMDS_ENDPOINT's value. */
  constructor(settings = {}, envEndpoint = undefined, seed = randomBytes(8), sockets = false) {
    super(() => native.machine(settings, envEndpoint, Buffer.from(seed), !sockets));
  }

  respond(op, status, retryAfter, body, now, te) {
    return super.respond(op, status, retryAfter, Buffer.from(body.buffer, body.byteOffset, body.byteLength), now, te);
  }
}

/** Merges a list's pages (JSON bytes) into one document, as `getAll` does; JSON bytes out. */
function mergePages(pages) {
  const merged = native.mergePageBodies(pages.map((p) => Buffer.from(p).toString('utf8')));
  if (merged === null) throw errorFrom({ kind: 'bad_response', message: 'a page of the list is not a JSON object', cause: 'protocol' });
  return Buffer.from(merged);
}

/** The driver's gunzip (every member, CRC checked), at most `limit` bytes out. */
function gunzip(data, limit) {
  try {
    return native.gunzip(Buffer.from(data.buffer, data.byteOffset, data.byteLength), limit);
  } catch (err) {
    if (/exceeds/.test(String(err?.message))) throw new RangeError(`decompressed user data exceeds ${limit} bytes`);
    throw err;
  }
}

/** The driver's MIME leaves, or null when the data is not multi-part. */
function leafParts(data) {
  const leaves = native.mimeParts(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return leaves && leaves.map((p) => ({ contentType: p.contentType, filename: p.filename ?? null, charset: p.charset ?? null, data: p.data }));
}

const seed = () => randomBytes(8);

export { Machine, SocketTransport, mergePages, gunzip, leafParts, seed };
