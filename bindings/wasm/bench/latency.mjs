// Time per `instance()` call through the package (WebAssembly driver + fetch)
// beside a reference measured in the same run: the least a fetch host can do for the
// same answer (one token PUT, then GET with the bearer token and JSON.parse, no
// retries, no checks). Both run against the emulator (release build if present) on
// loopback, interleaved in rounds so that machine noise hits both alike.
//
//   node bindings/wasm/bench/latency.mjs [calls per round, default 300] [rounds, default 5]
import { Client } from 'vpc-imds-wasm';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../test/emulator.mjs';

const release = fileURLToPath(new URL('../../../target/release/vpc-imds-emulator', import.meta.url));
if (!process.env.VPC_IMDS_EMULATOR && existsSync(release)) process.env.VPC_IMDS_EMULATOR = release;

const calls = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 5);
const emu = await startEmulator();

const client = new Client({ endpoint: emu.base, useEnv: false });
const ours = () => client.instance();

let token;
const reference = async () => {
  if (!token) {
    const r = await fetch(`${emu.base}/identity/v1/token?version=2025-08-26`, {
      method: 'PUT',
      headers: { 'Metadata-Flavor': 'ibm', Accept: 'application/json', 'Content-Type': 'application/json' },
      body: '{"expires_in":300}',
    });
    token = (await r.json()).access_token;
  }
  const r = await fetch(`${emu.base}/metadata/v1/instance?version=2025-08-26`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  });
  return r.json();
};

async function run(f, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f();
  return (performance.now() - t0) / n;
}

async function concurrent(f, n, width) {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = 0; i < n / width; i++) await f();
  }));
  return (n / (performance.now() - t0)) * 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  await run(ours, 50); // warm up both (JIT, connection pool, token)
  await run(reference, 50);
  const seq = { ours: [], reference: [] };
  const par = { ours: [], reference: [] };
  for (let r = 0; r < rounds; r++) {
    seq.ours.push(await run(ours, calls));
    seq.reference.push(await run(reference, calls));
    par.ours.push(await concurrent(ours, calls, 8));
    par.reference.push(await concurrent(reference, calls, 8));
  }
  const c = await emu.counters();
  console.log(`instance() against the emulator (${process.env.VPC_IMDS_EMULATOR?.includes('/release/') ? 'release' : 'debug'} build), ${rounds} rounds x ${calls} calls, node ${process.version}`);
  console.log(`  sequential, median per call:  ours ${median(seq.ours).toFixed(3)} ms   reference fetch ${median(seq.reference).toFixed(3)} ms`);
  console.log(`  8 concurrent, median calls/s:  ours ${median(par.ours).toFixed(0)}   reference fetch ${median(par.reference).toFixed(0)}`);
  console.log(`  identity tokens created: ${c.token_creations} (ours 1, reference 1)`);
} finally {
  await emu.stop();
}
