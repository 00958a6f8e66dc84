// Entry point for Node.js (>= 18) and Deno: loads the WebAssembly module from the
// package's own files, then exports the API (over node:net sockets under Node).
import init from '../pkg/vpc_imds_wasm.js';
import { readFile } from 'node:fs/promises';
import { useRandom, useSockets } from './backend.js';
import { useConnectAgent } from './client.js';

await init({ module_or_path: await readFile(new URL('../pkg/vpc_imds_wasm_bg.wasm', import.meta.url)) });
if (!globalThis.crypto?.getRandomValues) {
  // Node 18 has Web Crypto only under node:crypto.
  const { webcrypto } = await import('node:crypto');
  useRandom((bytes) => webcrypto.getRandomValues(bytes));
}
if (globalThis.process?.versions?.undici) {
  // Node's fetch is undici: its Agent, the class of the global dispatcher (set once
  // undici is loaded, which a fetch of a data: URL does), gives each fetch transport a
  // dispatcher whose pending connects end with its calls (see client.js).
  useConnectAgent(() => {
    const key = Symbol.for('undici.globalDispatcher.1');
    if (globalThis[key] === undefined) globalThis.fetch('data:,').catch(() => {});
    const Agent = globalThis[key]?.constructor;
    // Only undici's plain Agent (a proxying dispatcher would be the wrong class).
    return typeof Agent === 'function' && Agent.name === 'Agent' ? Agent : undefined;
  });
}

// Node has sockets: the node:net transport both npm packages share (about twice as
// fast as fetch for a cached call, no proxy, `ca` honoured). Deno keeps fetch.
if (globalThis.Deno === undefined) useSockets((await import('./transport.js')).SocketTransport);

export * from './index.js';
