// Entry point for Node.js (>= 18) and Deno: loads the WebAssembly module from the
// package's own files, then exports the API (over node:net sockets under Node and Deno).
import init from '../pkg/vpc_imds_wasm.js';
import { readFile } from 'node:fs/promises';
import { useRandom, useSockets } from './backend.js';

await init({ module_or_path: await readFile(new URL('../pkg/vpc_imds_wasm_bg.wasm', import.meta.url)) });
if (!globalThis.crypto?.getRandomValues) {
  // Node 18 has Web Crypto only under node:crypto.
  const { webcrypto } = await import('node:crypto');
  useRandom((bytes) => webcrypto.getRandomValues(bytes));
}
// Node and Deno have sockets (Deno's node:net): the node:net transport both npm
// packages share (about twice as fast as fetch for a cached call, `ca` honoured, and
// no proxy: Deno's fetch would send the token through HTTP_PROXY/HTTPS_PROXY).
useSockets((await import('./transport.js')).SocketTransport);

export * from './index.js';
