// Entry point for browsers and bundlers: fetches the WebAssembly module next to
// this file (bundlers see `new URL(..., import.meta.url)` and ship the asset).
import init from '../pkg/vpc_imds_wasm.js';

await init({ module_or_path: new URL('../pkg/vpc_imds_wasm_bg.wasm', import.meta.url) });

export * from './index.js';
