// Secure access over Node's fetch: the emulator with --tls (a self-signed certificate
// for 127.0.0.1), trusted through NODE_EXTRA_CA_CERTS in a child Node process (fetch
// reads it at start-up); untrusted, the handshake fails as `refused` with transport
// `tls`, at once (a TLS failure is final).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, RefusedError } from 'vpc-imds-wasm';
import { startEmulator } from './emulator.mjs';

const dir = mkdtempSync(join(tmpdir(), 'vpc-imds-wasm-tls-'));
const cert = join(dir, 'emulator.pem');
let emu;
before(async () => {
  emu = await startEmulator(['--tls', '--cert-out', cert]);
});
after(async () => {
  await emu?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('https with the certificate trusted: every call works', async () => {
  assert.match(emu.base, /^https:\/\/127\.0\.0\.1:\d+$/);
  const script = `
    import { Client } from 'vpc-imds-wasm';
    const c = new Client({ endpoint: process.argv[1], secure: true, useEnv: false });
    const i = await c.instance();
    const keys = [];
    for await (const k of c.keys()) keys.push(k.id);
    console.log(JSON.stringify({ name: i.name, protocol: i.metadata_service?.protocol, keys: keys.length }));`;
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, emu.base], {
      cwd: new URL('..', import.meta.url),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: cert },
      timeout: 30_000,
    }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  assert.deepEqual(JSON.parse(out), { name: 'emu-vsi-1', protocol: 'https', keys: 3 });
});

test('https with an untrusted certificate: refused (tls), not retried', async () => {
  const c = new Client({ endpoint: emu.base, useEnv: false });
  const before = (await emu.counters()).requests;
  await assert.rejects(c.instance(), (e) => e instanceof RefusedError && e.code === 'refused' && e.transport === 'tls');
  assert.equal((await emu.counters()).requests, before, 'no request got through');
});
