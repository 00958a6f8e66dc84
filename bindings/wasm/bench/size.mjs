// Prints the size of the package's WebAssembly after wasm-opt (raw, gzip -9,
// brotli), beside the same module before wasm-opt and straight out of cargo
// (measured from this build: build.sh records them), the JavaScript shipped with
// it, and the time to compile the module here.
//
//   node bindings/wasm/bench/size.mjs      # after bash bindings/wasm/build.sh
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const pkg = new URL('../pkg/', import.meta.url);
const lib = new URL('../lib/', import.meta.url);
const wasm = readFileSync(new URL('vpc_imds_wasm_bg.wasm', pkg));
const before = JSON.parse(readFileSync(new URL('sizes.json', pkg), 'utf8'));
const GOAL = 120 * 1024;
const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kb = (n) => `${n.toLocaleString('en-US')} B (${(n / 1024).toFixed(1)} KiB)`;

const toolchain = before.toolchain ?? 'stable';
const cuts = toolchain === 'stable' ? 'panic=abort' : 'build-std, panic=immediate-abort, location-detail=none';
console.log(`vpc-imds-wasm size (wasm32-unknown-unknown, ${toolchain}, opt-level z, LTO, ${cuts})`);
console.log(`  cargo output              ${kb(before.cargo)}`);
console.log(`  after wasm-bindgen        ${kb(before.wasm_bindgen)}`);
console.log(`  after wasm-opt -Oz (ours) ${kb(wasm.length)}   goal <= ${kb(GOAL)}: ${wasm.length <= GOAL ? 'met' : 'NOT met'}`);
console.log(`    gzip -9                 ${kb(gz(wasm))}`);
console.log(`    brotli 11               ${kb(br(wasm))}`);
let js = 0;
let jsGz = 0;
for (const f of [new URL('vpc_imds_wasm.js', pkg), ...readdirSync(lib).filter((n) => n.endsWith('.js')).map((n) => new URL(n, lib))]) {
  const b = readFileSync(f);
  js += b.length;
  jsGz += gz(b);
}
console.log(`  JavaScript (glue + lib/)  ${kb(js)}, gzip -9 ${kb(jsGz)}`);
const runs = 20;
const t0 = performance.now();
for (let i = 0; i < runs; i++) await WebAssembly.compile(wasm);
console.log(`  WebAssembly.compile here  ${((performance.now() - t0) / runs).toFixed(2)} ms (mean of ${runs})`);
