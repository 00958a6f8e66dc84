// The WebAssembly backend of the shared client layer (../../js): the driver's client
// machine as wasm-bindgen exports it, its steps and errors as objects. Sockets only
// under Node (node.js sets them: the shared node:net transport); elsewhere the client
// uses fetch or your transport function.

import { Machine as WasmMachine, mergePages as wasmMergePages, gunzip as wasmGunzip, userDataParts as wasmUserDataParts, isMultipart, transportFailure } from '../pkg/vpc_imds_wasm.js';
import { asBytes } from './client.js';
import { Machine as SharedMachine, checked, plain } from './machine.js';

/** The client machine of one client (the module's), steps and errors as objects. */
export class Machine extends SharedMachine {
  /** `settings` by the description's names; `envEndpoint`: VPC_IMDS_ENDPOINT's value;
   * `sockets`: steps carry only the wire bytes. */
  constructor(settings = {}, envEndpoint = undefined, seedBytes = seed(), sockets = false) {
    super(() => new WasmMachine(plain(settings), envEndpoint, seedBytes, !sockets));
  }
}

/** Merges a list's pages (JSON bytes) into one document, as `getAll` does; JSON bytes out. */
export function mergePages(pages) {
  return checked(() => wasmMergePages(pages.map(asBytes)));
}

/** The driver's gunzip (every member, CRC checked), at most `limit` bytes out (the
 * driver's limit when absent); `BadResponseError` says why not. */
export function gunzip(data, limit) {
  return checked(() => wasmGunzip(data, limit));
}

/** The driver's user-data parts: `{contentType, filename, charset, data}`, nulls where absent. */
export function userDataParts(data) {
  const leaves = checked(() => wasmUserDataParts(data));
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

/** The socket transport, where the host has sockets (Node: set by node.js); else every
 * client uses fetch or its transport function. */
export let SocketTransport;

/** @internal Under Node: the shared node:net transport. */
export function useSockets(transport) {
  SocketTransport = transport;
}

export { isMultipart, transportFailure };
