// The napi backend of the shared client layer (../../js): the driver's client machine
// in the native addon, presented as the WebAssembly package's `Machine` (the same
// arguments, steps and errors), and the node:net/node:tls transport.

import native from './native.js';
import { randomBytes } from 'node:crypto';
import { Machine as SharedMachine, checked, plain } from './machine.js';
import { SocketTransport } from './transport.js';

/** The client machine of one client; `sockets`: steps carry only the wire bytes. */
class Machine extends SharedMachine {
  /** `settings` by the description's names; `envEndpoint`: VPC_IMDS_ENDPOINT's value. */
  constructor(settings = {}, envEndpoint = undefined, seed = randomBytes(8), sockets = false) {
    super(() => native.machine(plain(settings), envEndpoint, Buffer.from(seed), !sockets));
  }

  respond(op, status, retryAfter, body, now, te) {
    return super.respond(op, status, retryAfter, Buffer.from(body.buffer, body.byteOffset, body.byteLength), now, te);
  }
}

const bytes = (data) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** Merges a list's pages (JSON bytes) into one document, as `getAll` does; JSON bytes out. */
const mergePages = (pages) => checked(() => native.mergePages(pages.map(bytes)));

/** The driver's gunzip (every member, CRC checked), at most `limit` bytes out (the
 * driver's limit when absent); `BadResponseError` says why not. */
const gunzip = (data, limit) => checked(() => native.gunzip(bytes(data), limit));

/** The driver's user-data parts: `{contentType, filename, charset, data}`, nulls where absent. */
const userDataParts = (data) =>
  checked(() => native.userDataParts(bytes(data))).map((p) => ({ contentType: p.contentType ?? null, filename: p.filename ?? null, charset: p.charset ?? null, data: p.data }));

/** Whether user data (gzip removed) is a well-formed MIME multi-part document. */
const isMultipart = (data) => native.isMultipart(bytes(data));

const seed = () => randomBytes(8);

/** The transport failure an errno name stands for, by stage (the core's table). */
const transportFailure = (code, connected) => native.transportFailure(code, connected);

export { Machine, SocketTransport, mergePages, gunzip, userDataParts, isMultipart, seed, transportFailure };
