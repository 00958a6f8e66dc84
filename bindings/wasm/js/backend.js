// The WebAssembly backend of the shared client layer (../../js): the driver's client
// machine as wasm-bindgen exports it, its steps and errors as objects; no sockets
// (the client uses fetch or your transport function).

import { Machine as WasmMachine, mergePages as wasmMergePages, gunzip, leafParts as wasmLeafParts } from '../pkg/vpc_imds_wasm.js';
import { errorFrom } from './errors.js';
import { asBytes } from './client.js';
import { stepFrom } from './steps.js';

/** What the module threw: the machine's error record (JSON text) as its error. */
function thrown(e) {
  return typeof e === 'string' && e.startsWith('{') ? errorFrom(JSON.parse(e)) : e;
}

function checked(f) {
  try {
    return f();
  } catch (e) {
    throw thrown(e);
  }
}

/**
 * The client machine (the module's `Machine`) with its steps and errors as objects:
 * the module writes them as JSON text, parsed here; a step's bytes (user data) or
 * text (a part of `get_all`'s document) are attached under the name it gives. A bad
 * setting or argument throws `InvalidInputError`.
 */
export class Machine extends WasmMachine {
  #payload;
  #wire;

  /** `settings` by the description's names; `envEndpoint`: VPC_IMDS_ENDPOINT's value. */
  constructor(settings = {}, envEndpoint = undefined, seedBytes = seed()) {
    try {
      super(settings, envEndpoint, seedBytes);
    } catch (e) {
      throw thrown(e);
    }
    this.#payload = { takeBytes: () => super.takeBytes(), takeText: () => super.takeText() };
  }

  /** Starts `op` with `args` by the description's names (the module reads every key). */
  start(op, now, args) {
    return checked(() => super.start(op, now, args));
  }

  step(op, now) {
    return this.#step(super.step(op, now));
  }

  feed(op, data, now) {
    return this.#step(super.feed(op, data, now));
  }

  respond(op, status, retryAfter, body, now, transferEncoding) {
    return this.#step(super.respond(op, status, retryAfter, body, now, transferEncoding));
  }

  fail(op, name, now) {
    return this.#step(super.fail(op, name, now));
  }

  #step(text) {
    const step = stepFrom(text, this.#payload);
    this.#wire = step.wire; // until the next step: it holds the token
    return step;
  }

  /** After a SEND step: its HTTP/1.1 bytes, once (they hold the token); else empty. */
  takeBytes() {
    const wire = this.#wire ?? new Uint8Array(0);
    this.#wire = undefined;
    return wire;
  }

  free() {
    this.#wire = undefined;
    super.free();
  }
}

/** Merges a list's pages (JSON bytes) into one document, as `getAll` does; JSON bytes out. */
export function mergePages(pages) {
  return checked(() => wasmMergePages(pages.map(asBytes)));
}

/** The leaf parts of MIME multi-part data, or null when it is not multi-part. */
export function leafParts(data) {
  const leaves = wasmLeafParts(data);
  if (leaves === undefined) return null;
  try {
    return Array.from({ length: leaves.length }, (_, i) => ({
      contentType: leaves.contentType(i) ?? null,
      filename: leaves.filename(i) ?? null,
      charset: leaves.charset(i) ?? null,
      data: leaves.payload(i),
    }));
  } finally {
    leaves.free();
  }
}

let random = (bytes) => globalThis.crypto.getRandomValues(bytes);

/** @internal For hosts without a global `crypto` (Node 18): where random bytes come from. */
export function useRandom(getRandomValues) {
  random = getRandomValues;
}

/** The machine's jitter seed. */
export const seed = () => random(new Uint8Array(8));

/** No sockets here: every client uses fetch or its transport function. */
export const SocketTransport = undefined;

export { gunzip };
