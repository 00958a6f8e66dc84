// The package under Deno (installed from npm as a devDependency: `deno`), through its
// `deno` entry point, against the emulator: token, instance, pages, user data parts,
// a typed 404 and concurrent calls sharing the token, with only read and net
// permissions (no env: VPC_IMDS_ENDPOINT is then not read, and nothing breaks).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEmulator } from './emulator.mjs';

const deno = process.env.DENO ?? fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
// ci.sh installs deno with the other devDependencies; without it there is nothing to run.
const reason = existsSync(deno) ? false : `no deno at ${deno} (npm install)`;
const KEY_IDS = ['r000-99999999-0000-4000-8000-000000000001', 'r000-99999999-0000-4000-8000-000000000002', 'r000-99999999-0000-4000-8000-000000000003'];

let emu;
before(async () => {
  if (!reason) emu = await startEmulator();
});
after(async () => {
  await emu?.stop();
});

test('Deno: the package against the emulator', { skip: reason }, async () => {
  const script = fileURLToPath(new URL('deno/smoke.mjs', import.meta.url));
  const out = await new Promise((resolve, reject) => {
    execFile(deno, ['run', '--no-prompt', '--allow-read', '--allow-net=127.0.0.1', script, emu.base],
      {
        timeout: 60_000,
        // Deno's cache stays inside the checkout (node_modules is ignored by git).
        // A proxy that refuses everything: a call that went through it would fail
        // (Deno's fetch reads HTTP_PROXY; the package's sockets never do).
        env: { ...process.env, HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_DIR: fileURLToPath(new URL('../node_modules/.deno', import.meta.url)) },
      },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  const r = JSON.parse(out.trim().split('\n').pop());
  console.log(`deno ${r.deno}`);
  assert.equal(r.token, true);
  assert.equal(r.name, 'emu-vsi-1');
  assert.deepEqual(r.pages, KEY_IDS);
  assert.ok(r.parts >= 2);
  assert.equal(r.notFound, 'not_found');
  assert.equal(r.concurrent, 3);
  assert.equal(r.refused, 'refused');
  assert.equal((await emu.counters()).token_creations, 1);
});
