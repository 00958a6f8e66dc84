// Peak memory of `getAll('keys')` through the package under Node, over many pages of
// about 1 MB (50 keys a page, each public key about 19 KB), from the emulator on
// loopback. Each measurement runs in a fresh Node process and reports its peak RSS
// (process.resourceUsage().maxRSS) and, at the end, the memory held in ArrayBuffers
// (the WebAssembly memory among them); the
// reference in the same run is the same process fetching one page (`get('keys')`).
//
//   node bindings/wasm/bench/get-all-rss.mjs [PAGES, default 50]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emulatorPath, startEmulator } from '../test/emulator.mjs';

const pages = Number(process.argv[2] ?? 50);
const work = mkdtempSync(join(tmpdir(), 'vpc-imds-wasm-rss-'));
const base = JSON.parse(execFileSync(emulatorPath(), ['--print-fixture'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
const template = base.keys[0];
base.keys = Array.from({ length: pages * 50 }, (_, i) => {
  const id = `r000-bench-key-${String(i).padStart(6, '0')}`;
  return { ...template, id, name: `bench-key-${i}`, crn: `${template.crn.split(':').slice(0, -1).join(':')}:${id}`, public_key: `ssh-ed25519 ${'A'.repeat(19000)} key${i}` };
});
const fixture = join(work, 'fixture.json');
writeFileSync(fixture, JSON.stringify(base));
const emu = await startEmulator(['--fixture', fixture]);

// The measured process: one call, then its peak RSS and the module's memory.
const child = `
import { Client } from 'vpc-imds-wasm';
const c = new Client({ endpoint: process.argv[1], useEnv: false, timeout: 300, requestTimeout: 60 });
const doc = process.argv[2] === 'all' ? await c.getAll('keys') : await c.get('keys');
const { arrayBuffers } = process.memoryUsage();
console.log(JSON.stringify({ keys: doc.keys.length, maxRssKB: process.resourceUsage().maxRSS, arrayBuffersKB: Math.round(arrayBuffers / 1024) }));
`;
const here = fileURLToPath(new URL('..', import.meta.url));
function measure(mode) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', child, emu.base, mode], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${mode}: exit ${code}`))));
  });
}
try {
  const t0 = performance.now();
  const all = await measure('all');
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const one = await measure('one');
  console.log(`measured ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}`);
  console.log(`getAll('keys'), ${pages} pages: peak RSS ${all.maxRssKB} KB (ArrayBuffers at the end ${all.arrayBuffersKB} KB), ${all.keys} keys, ${seconds} s`);
  console.log(`get('keys'), one page (reference): peak RSS ${one.maxRssKB} KB (ArrayBuffers ${one.arrayBuffersKB} KB), ${one.keys} keys`);
  if (all.keys !== pages * 50) throw new Error(`merged document incomplete: ${all.keys} keys, expected ${pages * 50}`);
} finally {
  await emu.stop();
  rmSync(work, { recursive: true, force: true });
}
