#!/usr/bin/env node
// JavaScript hosts at their floor: a cached GET of the instance through each npm
// package beside the least a JavaScript client can do for the same exchange, in one
// run against one emulator (127.0.0.1 only).
//
// - node:net floor: one kept-alive socket, prebuilt request bytes, the answer read
//   to its Content-Length, JSON.parse (the floor of both packages under Node, whose
//   transport there is node:net);
// - fetch floor: fetch + res.json() (the floor of `vpc-imds-wasm` where it has no
//   sockets, browsers and Deno: measured here with the `fetch` option).
// Rounds alternate every row; each row's figure is its median per call over the
// rounds (wall time, and this process's CPU time, which a shared machine disturbs
// less), and the ratio is to its floor's median.
//
// Before the rounds each row runs `--warmup` calls untimed: the goal is a cached call in
// steady state, and V8 optimizes a longer path (ours) later than the floor's few lines,
// so short rounds without it measure the JIT's tiers more than the code.
//
//   node bench/js_floor.mjs [--rounds 7] [--calls 300] [--warmup 500] [--quick] [--emulator PATH]
//
// Needs bindings/node and bindings/wasm built (each package's `npm run build`).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const quick = argv.includes('--quick');
const rounds = Number(opt('--rounds', quick ? 5 : 7));
// --quick has fewer rounds, not fewer calls: rounds of 60 calls measured noise (two runs
// each on one machine, 2026-12-07: client CPU 1.5-4.6x the floor with 60 calls a round,
// 1.2-1.7x with 300).
const calls = Number(opt('--calls', 300));
const warmup = Math.max(Number(opt('--warmup', 500)), 1); // one at least: the token and the connection

function emulatorPath() {
  const given = opt('--emulator', process.env.EMULATOR_BIN);
  if (given) return given;
  for (const profile of ['release', 'debug']) {
    const p = path.join(repo, 'target', profile, 'vpc-imds-emulator');
    if (existsSync(p)) return p;
  }
  throw new Error('no emulator: cargo build -p vpc-imds-emulator, or pass --emulator PATH');
}

function startEmulator() {
  const child = spawn(emulatorPath(), [], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.on('exit', (code) => reject(new Error(`emulator exited (${code})`)));
  });
}

/** A kept-alive socket with prebuilt request bytes, read to Content-Length. */
class NetFloor {
  constructor(url, token) {
    this.u = new URL(url);
    this.request = Buffer.from(
      `GET /metadata/v1/instance?version=2025-08-26 HTTP/1.1\r\nHost: ${this.u.host}\r\n` +
        `Authorization: Bearer ${token}\r\nAccept: application/json\r\n\r\n`,
    );
  }

  open() {
    return new Promise((resolve, reject) => {
      this.sock = net.connect(Number(this.u.port), this.u.hostname, resolve);
      this.sock.setNoDelay(true);
      this.sock.on('error', reject);
      this.sock.on('data', (d) => this.onData(d));
    });
  }

  onData(d) {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const length = Number(/content-length:\s*(\d+)/i.exec(head)[1]);
    if (this.buf.length < end + 4 + length) return;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.buf = null;
    this.done(JSON.parse(body));
  }

  call() {
    return new Promise((resolve) => {
      this.done = resolve;
      this.sock.write(this.request);
    });
  }
}

/** [wall, this process's CPU] µs per call. */
async function perCallUs(fn) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn();
  const used = process.cpuUsage(cpu);
  return [Number(process.hrtime.bigint() - start) / 1e3 / calls, (used.user + used.system) / calls];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { url, child } = await startEmulator();
  try {
    const node = await import(pathToFileURL(path.join(repo, 'bindings/node/lib/index.mjs')));
    const wasm = await import(pathToFileURL(path.join(repo, 'bindings/wasm/lib/node.js')));
    const nodeClient = new node.Client({ endpoint: url });
    const wasmClient = new wasm.Client({ endpoint: url });
    const wasmFetchClient = new wasm.Client({ endpoint: url, fetch: globalThis.fetch });
    const token = (await nodeClient.identityToken()).accessToken;
    const floor = new NetFloor(url, token);
    await floor.open();
    const fetchFloor = async () => {
      const res = await fetch(`${url}/metadata/v1/instance?version=2025-08-26`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      });
      return res.json();
    };
    const rows = [
      ['floor: node:net + JSON.parse', () => floor.call(), null],
      ['vpc-imds instance()', () => nodeClient.instance(), 0],
      ['vpc-imds get("instance")', () => nodeClient.get('instance'), 0],
      ['vpc-imds-wasm instance()', () => wasmClient.instance(), 0],
      ['vpc-imds-wasm get("instance")', () => wasmClient.get('instance'), 0],
      ['floor: fetch + res.json()', fetchFloor, null],
      ['vpc-imds-wasm instance(), fetch', () => wasmFetchClient.instance(), 5],
      ['vpc-imds-wasm get("instance"), fetch', () => wasmFetchClient.get('instance'), 5],
    ];
    // Warm: tokens cached, connections open, the JIT's code in its last tier.
    for (const [, fn] of rows) for (let i = 0; i < warmup; i++) await fn();
    const times = rows.map(() => []);
    const cpus = rows.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < rows.length; i++) {
        const [wall, cpu] = await perCallUs(rows[i][1]);
        times[i].push(wall);
        cpus[i].push(cpu);
      }
    }
    const when = new Date().toISOString().slice(0, 10);
    console.log(`cached GET /metadata/v1/instance (${when}, Node ${process.version}): ${warmup} calls each to warm up, then ${rounds} alternating rounds of ${calls} calls, median µs per call`);
    console.log(`${'row'.padEnd(38)} ${'wall'.padStart(8)} ${'ratio'.padStart(6)} ${'client CPU'.padStart(11)} ${'ratio'.padStart(6)}`);
    for (let i = 0; i < rows.length; i++) {
      const [name, , floorRow] = rows[i];
      const us = median(times[i]);
      const cpu = median(cpus[i]);
      const f = floorRow ?? i;
      const ratio = us / median(times[f]);
      const cpuRatio = cpu / median(cpus[f]);
      console.log(`${name.padEnd(38)} ${us.toFixed(1).padStart(8)} ${ratio.toFixed(2).padStart(6)} ${cpu.toFixed(1).padStart(11)} ${cpuRatio.toFixed(2).padStart(6)}`);
    }
    nodeClient.close?.();
    wasmClient.close?.();
    wasmFetchClient.close?.();
    floor.sock.destroy();
  } finally {
    child.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
