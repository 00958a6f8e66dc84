// The WebAssembly backend of the shared client layer (../../js): the driver's client
// machine as wasm-bindgen exports it, its steps and errors as objects; no sockets
// (the client uses fetch or your transport function).

import { Machine as WasmMachine, mergePages as wasmMergePages, gunzip, userDataParts as wasmUserDataParts, isMultipart } from '../pkg/vpc_imds_wasm.js';
import { asBytes } from './client.js';
import { Machine as SharedMachine, checked } from './machine.js';

/** The client machine of one client (the module's), steps and errors as objects. */
export class Machine extends SharedMachine {
  /** `settings` by the description's names; `envEndpoint`: VPC_IMDS_ENDPOINT's value. */
  constructor(settings = {}, envEndpoint = undefined, seedBytes = seed()) {
    super(() => new WasmMachine(settings, envEndpoint, seedBytes));
  }
}

/** Merges a list's pages (JSON bytes) into one document, as `getAll` does; JSON bytes out. */
export function mergePages(pages) {
  return checked(() => wasmMergePages(pages.map(asBytes)));
}

/** The driver's user-data parts: `{contentType, filename, charset, data}`, nulls where absent. */
export function userDataParts(data) {
  const leaves = wasmUserDataParts(data);
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

export { gunzip, isMultipart };
