// Entry point for Node.js (>= 18) and Deno: loads the WebAssembly module from the
// package's own files, then exports the API.
import init from '../pkg/vpc_imds_wasm.js';
import { readFile } from 'node:fs/promises';
import { useRandom } from './client.js';

await init({ module_or_path: await readFile(new URL('../pkg/vpc_imds_wasm_bg.wasm', import.meta.url)) });
if (!globalThis.crypto?.getRandomValues) {
  // Node 18 has Web Crypto only under node:crypto.
  const { webcrypto } = await import('node:crypto');
  useRandom((bytes) => webcrypto.getRandomValues(bytes));
}

export * from './api.js';
