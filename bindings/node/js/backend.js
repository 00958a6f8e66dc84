// The napi backend of the shared client layer (../../js): the driver's client machine
// in the native addon, presented as the WebAssembly package's `Machine` (the same
// arguments, steps and errors), and the node:net/node:tls transport.

import native from './native.js';
import { randomBytes } from 'node:crypto';
import { errorFrom } from './errors.js';
import { SocketTransport } from './transport.js';
import { stepFrom } from './steps.js';

const record = (r) => (typeof r === 'string' ? errorFrom(JSON.parse(r)) : r);

/** The client machine of one client; `sockets`: steps carry only the wire bytes. */
class Machine {
  #m;
  #wire;

  /** `settings` by the description's names; `envEndpoint`: VPC_IMDS_ENDPOINT's value. */
  constructor(settings = {}, envEndpoint = undefined, seed = randomBytes(8), sockets = false) {
    const m = native.machine(settings, envEndpoint, Buffer.from(seed), !sockets);
    if (typeof m === 'string') throw record(m);
    this.#m = m;
  }

  get endpoint() { return this.#m.endpoint; }
  get version() { return this.#m.version; }
  get maxResponseBytes() { return this.#m.maxResponseBytes; }
  get operations() { return this.#m.operations; }
  get host() { return this.#m.host; }
  get port() { return this.#m.port; }
  get secure() { return this.#m.secure; }

  /** Starts `op` with `args` by the description's names (the addon reads every key). */
  start(op, now, args) {
    const started = this.#m.start(op, args ?? undefined, now);
    if (typeof started !== 'number') throw record(started);
    return started;
  }

  #out(text) {
    const s = stepFrom(text, this.#m);
    this.#wire = s.wire; // until the next step: it holds the token
    return s;
  }

  step(op, now) { return this.#out(this.#m.step(op, now)); }
  feed(op, data, now) { return this.#out(this.#m.feed(op, now, data)); }
  respond(op, status, retryAfter, body, now, te) { return this.#out(this.#m.respond(op, now, status, retryAfter, Buffer.from(body.buffer, body.byteOffset, body.byteLength), te)); }
  fail(op, name, now) { return this.#out(this.#m.fail(op, now, name)); }
  cancel(op) { return this.#m.cancel(op) ?? undefined; }
  woken() { return this.#m.woken(); }
  /** After a SEND step: its HTTP/1.1 bytes, once (they hold the token); else empty. */
  takeBytes() {
    const wire = this.#wire ?? new Uint8Array(0);
    this.#wire = undefined;
    return wire;
  }
  /** Nothing to free early (the addon's machine goes with this object). */
  free() { this.#wire = undefined; }
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
