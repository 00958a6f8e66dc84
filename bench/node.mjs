#!/usr/bin/env node
// Node package benchmark: vpc-imds against ibm-cloud-sdk-core and raw node:http.
//
// One run, one emulator (127.0.0.1 only), figures printed side by side:
// - import time: a fresh `node -e "require(X)"` minus a bare `node -e ""` (median);
// - first call: a new client's first instance read (identity token + GET, new connection);
// - cached GET: GET /metadata/v1/instance with the token cached, connection kept alive;
// - token + IAM: a new identity token exchanged for an IAM token (new client each time).
// References: ibm-cloud-sdk-core's VpcInstanceAuthenticator (what IBM's Node SDKs use
// on a VPC instance; token + IAM only), and raw node:http requests (keep-alive agent:
// the floor), both measured in this run.
//
//   node bench/node.mjs [--emulator PATH] [--quick]
//
// Needs bindings/node built (npm run build) and its devDependencies installed.

import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, statSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(repo, 'bindings', 'node');
const require = createRequire(path.join(pkgDir, 'package.json'));
const VERSION = '2025-08-26';
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const n = quick ? 20 : 100;

function findEmulator() {
  const i = args.indexOf('--emulator');
  if (i >= 0) return args[i + 1];
  if (process.env.EMULATOR_BIN) return process.env.EMULATOR_BIN;
  for (const profile of ['release', 'debug']) {
    const p = path.join(repo, 'target', profile, 'vpc-imds-emulator');
    if (existsSync(p)) return p;
  }
  execFileSync('cargo', ['build', '--release', '-p', 'vpc-imds-emulator'], { cwd: repo, stdio: 'inherit' });
  return path.join(repo, 'target', 'release', 'vpc-imds-emulator');
}

function startEmulator(bin) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^listening on (\S+)$/m.exec(out);
      if (m && /^control on /m.test(out)) {
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({ url: m[1], stop: () => child.kill('SIGTERM') });
      }
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function medianUs(fn, count, warmup = 5) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return median(samples);
}

/** Import cost in ms: fresh processes requiring `mod`, minus bare ones (interleaved, medians). */
function importMs(mod, runs) {
  const bare = [];
  const loaded = [];
  const time = (code) => {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, ['-e', code], { cwd: pkgDir, stdio: 'ignore' });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  for (let i = 0; i < runs; i++) {
    bare.push(time(''));
    loaded.push(time(`require(${JSON.stringify(mod)})`));
  }
  return Math.max(median(loaded) - median(bare), 0);
}

// --- raw node:http: the floor --------------------------------------------------
function rawCall(agent, base, method, target, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(target, base);
    const req = http.request({ agent, host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode >= 300) return reject(new Error(`HTTP ${res.statusCode}`));
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
const rawToken = async (agent, base) =>
  (await rawCall(agent, base, 'PUT', `/identity/v1/token?version=${VERSION}`, { 'Metadata-Flavor': 'ibm', 'Content-Type': 'application/json', Accept: 'application/json' }, '{"expires_in":300}')).access_token;
const rawInstance = (agent, base, token) => rawCall(agent, base, 'GET', `/metadata/v1/instance?version=${VERSION}`, { Authorization: `Bearer ${token}`, Accept: 'application/json' });
const rawIam = (agent, base, token) =>
  rawCall(agent, base, 'POST', `/identity/v1/iam_tokens?version=${VERSION}`, { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' }, '');

/**
 * Medians of the candidates of one measurement, interleaved call by call (a machine
 * shared with other jobs slows all of them alike). `fns` maps a column to a call.
 */
async function interleaved(fns, count, warmup = 5) {
  const cols = Object.keys(fns).filter((k) => fns[k]);
  for (let i = 0; i < warmup; i++) for (const k of cols) await fns[k]();
  const samples = Object.fromEntries(cols.map((k) => [k, []]));
  for (let i = 0; i < count; i++) {
    for (const k of cols) {
      const t0 = process.hrtime.bigint();
      await fns[k]();
      samples[k].push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  return Object.fromEntries(cols.map((k) => [k, median(samples[k])]));
}

async function measure(base) {
  const { Client } = require('./lib/index.js');
  let VpcInstanceAuthenticator = null;
  try {
    ({ VpcInstanceAuthenticator } = require('ibm-cloud-sdk-core'));
  } catch {
    // Not installed: that column stays empty.
  }
  const rows = {};
  rows.first = await interleaved(
    {
      ours: async () => {
        const c = new Client({ endpoint: base, useEnv: false });
        await c.instance();
        c.close();
      },
      raw: async () => {
        const agent = new http.Agent({ keepAlive: true });
        await rawInstance(agent, base, await rawToken(agent, base));
        agent.destroy();
      },
    },
    n,
  );
  const client = new Client({ endpoint: base, useEnv: false });
  await client.instance();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const token = await rawToken(agent, base);
  rows.cached = await interleaved({ ours: () => client.instance(), raw: () => rawInstance(agent, base, token) }, n * 5);
  // 50 concurrent cached GETs (per call): ours share one token; raw with 50 sockets.
  const wide = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const many = (fn) => () => Promise.all(Array.from({ length: 50 }, fn));
  rows.concurrent = await interleaved({ ours: many(() => client.instance()), raw: many(() => rawInstance(wide, base, token)) }, Math.max(n / 5, 5));
  for (const k of Object.keys(rows.concurrent)) rows.concurrent[k] /= 50;
  rows.iam = await interleaved(
    {
      ours: async () => {
        const c = new Client({ endpoint: base, useEnv: false });
        await c.iamToken();
        c.close();
      },
      sdk:
        VpcInstanceAuthenticator &&
        (async () => {
          const auth = new VpcInstanceAuthenticator({ url: base });
          if (!(await auth.tokenManager.getToken())) throw new Error('no token');
        }),
      raw: async () => {
        const a = new http.Agent({ keepAlive: true });
        await rawIam(a, base, await rawToken(a, base));
        a.destroy();
      },
    },
    n,
  );
  // One client / authenticator asked for a new identity token and IAM token each
  // time (the SDK's token manager does both in requestToken, as when its token expires).
  const manager = VpcInstanceAuthenticator && new VpcInstanceAuthenticator({ url: base }).tokenManager;
  rows.iamReused = await interleaved(
    {
      ours: async () => {
        await client.identityToken();
        await client.iamToken();
      },
      sdk:
        manager &&
        (async () => {
          const res = await manager.requestToken();
          if (!res.result.access_token) throw new Error('no token');
        }),
      raw: async () => rawIam(agent, base, await rawToken(agent, base)),
    },
    n,
  );
  client.close();
  agent.destroy();
  wide.destroy();
  return rows;
}

function sizes() {
  const out = {};
  const node = readdirSync(pkgDir).find((f) => /^vpc-imds\..*\.node$/.test(f));
  if (node) out.addon = [node, statSync(path.join(pkgDir, node)).size];
  try {
    const [info] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: pkgDir, encoding: 'utf8' }));
    out.tarball = [info.filename, info.size, info.unpackedSize, info.entryCount];
  } catch {
    // npm pack unavailable: sizes of the addon only.
  }
  for (const f of readdirSync(pkgDir).filter((f) => f.endsWith('.tgz') && f.startsWith('vpc-imds-'))) rmSync(path.join(pkgDir, f));
  return out;
}

const fmt = (v, unit = 'us') => (v === undefined || v === null ? '-' : unit === 'ms' ? `${v.toFixed(1)} ms` : `${v >= 1000 ? v.toFixed(0) : v.toFixed(1)} us`);

const emu = await startEmulator(findEmulator());
try {
  delete process.env.VPC_IMDS_ENDPOINT;
  const imports = {
    ours: importMs(path.join(pkgDir, 'lib', 'index.js'), quick ? 5 : 15),
    sdk: importMs('ibm-cloud-sdk-core', quick ? 5 : 15),
    raw: importMs('node:http', quick ? 5 : 15),
  };
  const rows = await measure(emu.url);
  const col = (k) => Object.fromEntries(Object.entries(rows).map(([m, v]) => [m, v[k]]));
  const o = col('ours');
  const r = col('raw');
  const s = rows.iam.sdk === undefined ? null : col('sdk');
  const names = ['vpc-imds', 'ibm-cloud-sdk-core', 'raw node:http'];
  console.log(`Node ${process.version}, emulator ${emu.url}, medians (${n} calls; cached GET ${n * 5}); ${new Date().toISOString().slice(0, 10)}`);
  console.log(''.padEnd(40) + names.map((x) => x.padStart(20)).join(''));
  const markdown = [`| ${''.padEnd(36)} | ${names.join(' | ')} |`, `|${'-'.repeat(38)}|${names.map(() => '---:').join('|')}|`];
  const row = (label, vals, unit) => {
    console.log(label.padEnd(40) + vals.map((v) => fmt(v, unit).padStart(20)).join(''));
    markdown.push(`| ${label.padEnd(36)} | ${vals.map((v) => fmt(v, unit)).join(' | ')} |`);
  };
  row('import (process wall - bare)', [imports.ours, imports.sdk, imports.raw], 'ms');
  row('first call (token + GET)', [o.first, undefined, r.first]);
  row('cached GET (keep-alive)', [o.cached, undefined, r.cached]);
  row('50 concurrent cached GETs, per call', [o.concurrent, undefined, r.concurrent]);
  row('token + IAM (new client)', [o.iam, s && s.iam, r.iam]);
  row('token + IAM (same client)', [o.iamReused, s && s.iamReused, r.iamReused]);
  const z = sizes();
  if (z.addon) console.log(`addon ${z.addon[0]}: ${z.addon[1].toLocaleString('en')} bytes`);
  if (z.tarball) console.log(`package ${z.tarball[0]}: ${z.tarball[1].toLocaleString('en')} bytes (${z.tarball[2].toLocaleString('en')} unpacked, ${z.tarball[3]} files)`);
  const goals = [['cached GET <= 1.5x raw node:http keep-alive', o.cached <= 1.5 * r.cached, (o.cached / r.cached).toFixed(2) + 'x']];
  if (s) {
    goals.push(['token + IAM (same client) <= 0.2x ibm-cloud-sdk-core', o.iamReused <= 0.2 * s.iamReused, (o.iamReused / s.iamReused).toFixed(2) + 'x']);
    goals.push(['token + IAM (new client) <= 0.2x ibm-cloud-sdk-core', o.iam <= 0.2 * s.iam, (o.iam / s.iam).toFixed(2) + 'x']);
  }
  for (const [label, ok, ratio] of goals) console.log(`goal ${ok ? 'met' : 'MISSED'}: ${label} (${ratio})`);
  if (args.includes('--markdown')) console.log(`\n${markdown.join('\n')}`);
} finally {
  emu.stop();
}
