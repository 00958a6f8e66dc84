// The package through a bundler: Vite 8 builds test/bundler/ (an app that imports
// 'vpc-imds-wasm' by name and awaits it at the top level), ships the .wasm as an
// asset, and headless Chromium runs the bundle against the emulator (--cors).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from './emulator.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const vite = fileURLToPath(new URL('../node_modules/.bin/vite', import.meta.url));
const config = fileURLToPath(new URL('bundler/vite.config.mjs', import.meta.url));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
// ci.sh installs both; without them there is nothing to run.
const reason = !existsSync(CHROMIUM) ? `no browser at ${CHROMIUM}` : !existsSync(vite) ? 'no vite (npm install)' : false;

const out = mkdtempSync(join(tmpdir(), 'vpc-imds-wasm-vite-'));
let emu;
let server;
let origin;
before(async () => {
  if (reason) return;
  await new Promise((resolve, reject) => {
    execFile(vite, ['build', '--config', config], { env: { ...process.env, VITE_OUT_DIR: out }, timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`vite build: ${err.message}\n${stderr}`)) : resolve()));
  });
  emu = await startEmulator(['--cors']);
  server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (file.includes('..')) return res.writeHead(404).end();
    try {
      const body = await readFile(join(out, file));
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
});
after(async () => {
  await emu?.stop();
  await new Promise((r) => (server ? server.close(r) : r()));
  rmSync(out, { recursive: true, force: true });
});

test('Vite bundles the package (module + .wasm asset) and the bundle runs in Chromium', { skip: reason }, async () => {
  const assets = readdirSync(join(out, 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `the .wasm is an asset: ${assets}`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/?endpoint=${encodeURIComponent(emu.base)}`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 20_000 });
    const result = await page.evaluate(() => window.result);
    assert.deepEqual(errors, []);
    assert.equal(result.error, undefined);
    assert.equal(result.name, 'emu-vsi-1');
    assert.equal(result.keys.length, 3);
    assert.ok(result.parts >= 2);
    assert.equal(result.notFound, true);
  } finally {
    await browser.close();
  }
});
