// The package against the emulator over fetch (as in browsers; under Node and Deno the
// `fetch` option, for its sockets are the default there): every operation, the
// shared token (single flight), and the faults a fetch host meets: 503s, 429 with
// Retry-After, dropped connections, a black hole (request and operation
// deadlines), a 401 refresh after expiry, refused connections, invalid input
// (nothing sent), a disabled service. Tokens never show in output or errors.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { createServer } from 'node:net';
import {
  Client, IamTokenCache, Token, UserData, userData, GUNZIP_LIMIT, TransportError, ImdsError, fetchTransport, InvalidInputError, RefusedError,
  TimedOutError, ConnectionLostError, UnauthorizedError, NotFoundError, RateLimitedError, ServerError, RejectedError, BadResponseError,
} from 'vpc-imds-wasm';
import { startEmulator } from './emulator.mjs';

let emu;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu?.stop();
});
beforeEach(async () => {
  await emu.reset();
  await emu.call('DELETE', '/faults');
});

const client = (options = {}) => new Client({ endpoint: emu.base, useEnv: false, fetch: globalThis.fetch, ...options });
const KEY_IDS = ['r000-99999999-0000-4000-8000-000000000001', 'r000-99999999-0000-4000-8000-000000000002', 'r000-99999999-0000-4000-8000-000000000003'];

async function rejects(promise, Class, check = () => {}) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof Class, `expected ${Class.name}, got ${e?.name}: ${e?.message}`);
    assert.ok(e instanceof ImdsError);
    assert.equal(e.code, Class.kind);
    assert.ok(!/eyJ/.test(e.message) && !/eyJ/.test(inspect(e)), 'an error leaks a token');
    check(e);
    return e;
  }
  assert.fail(`expected ${Class.name}, it resolved`);
}

/** A loopback port nothing listens on. */
async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

test('every operation against the emulator', async () => {
  const c = client();
  assert.equal(c.endpoint, emu.base);
  const token = await c.identityToken({ expiresIn: 600 });
  assert.ok(token instanceof Token);
  assert.match(token.accessToken, /^eyJ/);
  assert.equal(token.expiresIn, 600);
  assert.match(token.expiresAt, /^20\d\d-/);
  for (const shown of [JSON.stringify(token), inspect(token), String(token), JSON.stringify({ ...token })]) {
    assert.ok(!shown.includes(token.accessToken), `the token leaks: ${shown}`);
  }
  assert.match(JSON.stringify(token), /REDACTED/);

  const instance = await c.instance();
  assert.equal(instance.name, 'emu-vsi-1');
  assert.equal(instance.vcpu.count, 2);
  assert.equal(typeof instance.profile.name, 'string');

  const init = await c.initialization();
  assert.ok(Array.isArray(init.keys));
  const data = await c.userData();
  assert.ok(data instanceof UserData && data instanceof Uint8Array);
  assert.ok(!data.isGzip);
  const text = data.text();
  assert.match(text, /Grüße, 世界/);
  assert.match(text, /multipart/i);
  assert.equal(inspect(data), `UserData(${data.length} bytes)`);
  assert.equal(data.isMultipart(), true);
  const parts = data.parts();
  assert.ok(parts.length >= 2, 'a multi-part cloud-config');
  assert.ok(parts.every((p) => typeof p.contentType === 'string' && p.data instanceof Uint8Array));
  assert.ok(parts.some((p) => /Grüße, 世界/.test(new TextDecoder().decode(p.data))));

  const nics = await c.networkInterfaces();
  assert.equal(nics.length, 2);
  assert.equal((await c.networkInterface(nics[0].id)).id, nics[0].id);
  const vols = await c.volumeAttachments();
  assert.equal(vols.length, 2);
  assert.equal((await c.volumeAttachment(vols[1].id)).id, vols[1].id);

  const keys = [];
  for await (const key of c.keys()) keys.push(key);
  assert.deepEqual(keys.map((k) => k.id), KEY_IDS);
  assert.equal((await c.key(KEY_IDS[1])).id, KEY_IDS[1]);
  const lines = await c.sshKeys();
  assert.equal(lines.length, 3);
  for (const line of lines) assert.match(line, /^(ssh-rsa|ssh-ed25519) AAAA\S+( .*)?$/);

  const groups = [];
  for await (const g of c.placementGroups()) groups.push(g);
  assert.equal(groups.length, 3);
  assert.equal((await c.placementGroup(groups[2].id)).id, groups[2].id);

  const raw = await c.get('instance');
  assert.equal(raw.name, 'emu-vsi-1');
  const pages = [];
  for await (const page of c.getPages('keys?limit=1')) pages.push(page);
  assert.equal(pages.length, 3);
  assert.deepEqual(pages.map((p) => p.keys[0].id), KEY_IDS);
  const all = await c.getAll('keys?limit=1');
  assert.deepEqual(all.keys.map((k) => k.id), KEY_IDS);
  assert.equal(all.next, undefined);

  const iam = await c.iamToken();
  assert.ok(iam instanceof Token);
  assert.equal(iam.expiresIn, 3600);
  assert.ok((await c.iamToken({ profileName: 'emu-cos-reader' })).accessToken.length > 20);
  await rejects(c.iamToken({ profileName: 'emu-unlinked-profile' }), RejectedError, (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.errorCode, 'profile_not_linked');
    assert.ok(e.trace);
  });
  // One identity token served all of it.
  assert.equal((await emu.counters()).token_creations, 1);
  await c.waitUntilReady(5); // asks for a token of its own
  assert.equal((await emu.counters()).token_creations, 2);
  c.close();
});

test('concurrent calls share one token fetch (single flight)', async () => {
  const c = client();
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? c.instance() : c.get('instance'))));
  assert.equal(results.length, 12);
  for (const r of results) assert.equal(r.name, 'emu-vsi-1');
  const counters = await emu.counters();
  assert.equal(counters.token_creations, 1);
  assert.equal(counters.metadata_gets, 12);
});

test('20 concurrent calls of every kind on a new client make exactly 1 identity token request', async () => {
  const c = client();
  const calls = [() => c.instance(), () => c.sshKeys(), () => c.userData(), () => c.getAll('keys?limit=1'), () => c.iamToken()];
  await Promise.all(Array.from({ length: 20 }, (_, i) => calls[i % calls.length]()));
  const counters = await emu.counters();
  assert.equal(counters.token_creations, 1);
  assert.equal(counters.iam_token_exchanges, 1);
});

test('a second iamToken() for a profile sends nothing; another profile exchanges once', async () => {
  const c = client();
  const profile = { profileId: 'Profile-00000000-0000-4000-8000-0000000000a2' };
  const first = await c.iamToken(profile);
  const before = (await emu.counters()).requests;
  assert.equal((await c.iamToken(profile)).accessToken, first.accessToken);
  assert.equal((await emu.counters()).requests, before);
  await c.iamToken();
  const counters = await emu.counters();
  assert.equal(counters.requests, before + 1);
  assert.equal(counters.iam_token_exchanges, 2);
});

test('a call aborted while it waits for the shared token leaves the others be', async () => {
  await emu.call('PUT', '/faults/latency', { ms: 300 });
  const c = client();
  const ac = new AbortController();
  const calls = [c.instance(), c.instance({ signal: ac.signal }), c.instance()];
  setTimeout(() => ac.abort(), 50);
  const [a, b, d] = await Promise.allSettled(calls);
  assert.equal(b.reason?.name, 'AbortError');
  assert.equal(a.value.name, 'emu-vsi-1');
  assert.equal(d.value.name, 'emu-vsi-1');
  assert.equal((await emu.counters()).token_creations, 1);
});

test('calls waiting for the token wake when it arrives, not at their deadline', async () => {
  await emu.call('PUT', '/faults/latency', { ms: 300 });
  const c = client();
  const start = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => c.instance()));
  const took = performance.now() - start;
  // One token (300 ms) then eight answers (300 ms each, concurrently).
  assert.ok(took < 2000, `took ${took} ms`);
  assert.equal((await emu.counters()).token_creations, 1);
});

test('the IAM token cache fetches once for concurrent callers', async () => {
  const c = client();
  const cache = new IamTokenCache(c, { profileId: 'Profile-00000000-0000-4000-8000-0000000000a2' });
  const tokens = (await Promise.all([cache.token(), cache.token(), cache.token()])).map((t) => t.accessToken);
  assert.equal(new Set(tokens).size, 1);
  assert.equal((await cache.token()).accessToken, tokens[0]);
  assert.equal((await emu.counters()).iam_token_exchanges, 1);
  assert.ok(!inspect(cache).includes(tokens[0]));
  assert.throws(() => new IamTokenCache(c, { profileId: 'a', profileName: 'b' }), InvalidInputError);
  // Every argument is the machine's to refuse, when the cache is made (as in Python).
  for (const profile of [{ profileId: '' }, { profileName: 'x'.repeat(513) }, { profileCrn: 'a\nb' }]) {
    assert.throws(() => new IamTokenCache(c, profile), (e) => e instanceof InvalidInputError && e.reason === 'input', JSON.stringify(profile));
  }
});

test('503s are retried', async () => {
  // On the GET, not the token PUT a new client sends first.
  await emu.call('POST', '/faults/fail', { status: 503, count: 2, route_prefix: '/metadata/' });
  const c = client();
  assert.equal((await c.instance()).name, 'emu-vsi-1');
  const n = await emu.counters();
  assert.equal(n.faults_injected, 2);
  assert.equal(n.by_route['GET /metadata/v1/instance'], 3, '2 refused GETs and 1 answered');
  await emu.call('POST', '/faults/fail', { status: 503 });
  await rejects(c.instance(), ServerError, (e) => {
    assert.equal(e.status, 503);
    assert.equal(e.errorCode, 'service_error');
  });
});

test('429 waits for Retry-After, then gives up as rate_limited', async () => {
  await emu.call('POST', '/faults/fail', { status: 429, count: 1, retry_after: 1, route_prefix: '/metadata/' });
  const c = client();
  const start = performance.now();
  assert.equal((await c.instance()).name, 'emu-vsi-1');
  assert.ok(performance.now() - start >= 950, 'Retry-After: 1 was honoured');
  await emu.call('POST', '/faults/fail', { status: 429 });
  await rejects(client({ maxAttempts: 2 }).instance(), RateLimitedError, (e) => assert.equal(e.status, 429));
});

test('a dropped connection is retried; always dropped is connection_lost', async () => {
  await emu.call('POST', '/faults/drop', { stage: 'mid_body', count: 1, route_prefix: '/metadata/' });
  const c = client();
  assert.equal((await c.instance()).name, 'emu-vsi-1');
  await emu.call('POST', '/faults/drop', { stage: 'mid_headers', route_prefix: '/metadata/' });
  await rejects(c.instance(), ConnectionLostError, (e) => assert.equal(e.transport, 'connection_lost'));
  await emu.call('DELETE', '/faults');
  await emu.call('POST', '/faults/drop', { stage: 'mid_body', route_prefix: '/metadata/' });
  await rejects(c.instance(), ConnectionLostError);
});

test('a black hole: the request deadline retries, the operation deadline ends it', async () => {
  await emu.call('POST', '/faults/black_hole', { count: 1, route_prefix: '/metadata/' });
  const c = client({ requestTimeout: 0.3 });
  assert.equal((await c.instance()).name, 'emu-vsi-1');
  await emu.call('POST', '/faults/black_hole', { route_prefix: '/metadata/' });
  const start = performance.now();
  await rejects(client({ timeout: 1 }).instance(), TimedOutError);
  const took = performance.now() - start;
  assert.ok(took >= 900 && took < 2500, `the operation deadline held (${took} ms)`);
});

test('an expired token is refreshed once after a 401', async () => {
  const c = client();
  await c.instance();
  await emu.call('POST', '/tokens/expire');
  assert.equal((await c.instance()).name, 'emu-vsi-1');
  const counters = await emu.counters();
  assert.equal(counters.token_creations, 2);
  assert.equal(counters.unauthenticated, 1);
});

test('invalid input is refused before anything is sent', async () => {
  const c = client();
  await rejects(c.networkInterface('a/b'), InvalidInputError);
  await rejects(c.key('x\r\nX-Evil: 1'), InvalidInputError);
  await rejects(c.identityToken({ expiresIn: 3601 }), InvalidInputError);
  await rejects(c.iamToken({ profileId: 'a', profileCrn: 'b' }), InvalidInputError);
  await rejects(c.get('instance?version=2020-01-01'), InvalidInputError);
  await rejects(c.key(42), InvalidInputError);
  await rejects(c.key('r006-\ud800'), InvalidInputError);
  await rejects(c.iamToken({ profileName: '\udc00x' }), InvalidInputError);
  assert.throws(() => client({ version: '2020-13-01' }), InvalidInputError);
  assert.throws(() => client({ timeout: 0 }), InvalidInputError);
  assert.throws(() => client({ timeout: 'soon' }), InvalidInputError);
  assert.throws(() => client({ endpoint: 'http://127.0.0.1:1/x?y' }), InvalidInputError);
  assert.throws(() => new Client({ endpoint: 'ftp://h', useEnv: false }), (e) => e.code === 'invalid_input');
  assert.equal((await emu.counters()).requests, 0);
});

test('not found, disabled and refused', async () => {
  const c = client();
  await rejects(c.key('r000-nope'), NotFoundError, (e) => {
    assert.equal(e.status, 404);
    assert.equal(e.errorCode, 'not_found');
    assert.match(e.trace, /^[0-9a-f-]{36}$/);
  });
  await emu.call('PUT', '/service', { enabled: false });
  await rejects(client().instance(), UnauthorizedError, (e) => assert.equal(e.status, 403));
  await emu.call('PUT', '/service', { enabled: true });
  const port = await closedPort();
  await rejects(new Client({ endpoint: `http://127.0.0.1:${port}`, useEnv: false, timeout: 2, fetch }).instance(), RefusedError,
    (e) => assert.equal(e.transport, 'refused'));
});

test('a custom transport (parts in, parts out), and its failures', async () => {
  const seen = [];
  const c = client({
    async transport(request) {
      seen.push(`${request.method} ${request.target}`);
      assert.ok(request.timeout > 1000 && request.connectTimeout <= request.timeout && request.signal instanceof AbortSignal);
      assert.ok(!JSON.stringify(request).includes('eyJ') && !inspect(request).includes('eyJ'));
      const r = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body ?? undefined });
      return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
    },
  });
  assert.equal((await c.instance()).name, 'emu-vsi-1');
  assert.deepEqual(seen, ['PUT /identity/v1/token?version=2025-08-26', 'GET /metadata/v1/instance?version=2025-08-26']);
  let calls = 0;
  const lost = client({ maxAttempts: 3, transport: async () => { calls++; throw new TransportError('connection_lost'); } });
  await rejects(lost.instance(), ConnectionLostError);
  assert.equal(calls, 3, 'a lost connection is retried');
  calls = 0;
  const refused = client({ maxAttempts: 3, transport: async () => { calls++; throw new TransportError('refused'); } });
  await rejects(refused.instance(), RefusedError);
  assert.equal(calls, 1, 'a refusal is final');
  const reset = client({ maxAttempts: 2, transport: async () => { throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }); } });
  await rejects(reset.instance(), ConnectionLostError);
  const malformed = client({ transport: async () => ({ status: 200, body: '{"access_token": 5}' }) });
  await rejects(malformed.instance(), BadResponseError);
  const slow = client({ timeout: 0.5, transport: () => new Promise(() => {}) });
  await rejects(slow.instance(), TimedOutError);
  assert.throws(() => new TransportError('nope'), InvalidInputError);
});

test('user data helpers: gzip, MIME parts, transfer encodings', async () => {
  const { gzipSync } = await import('node:zlib');
  const doc = 'Content-Type: multipart/mixed; boundary="XX"\r\nMIME-Version: 1.0\r\n\r\n--XX\r\n'
    + 'Content-Type: text/cloud-config; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n'
    + 'Content-Disposition: attachment; filename="a.yaml"\r\n\r\n'
    + `${Buffer.from('#cloud-config\nGrüße').toString('base64')}\r\n--XX\r\n`
    + 'Content-Type: text/x-shellscript\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n#!/bin/sh\necho h=C3=A9=\r\n!\r\n--XX--\r\n';
  const zipped = UserData.from(gzipSync(Buffer.from(doc)));
  assert.ok(zipped.isGzip);
  assert.equal(inspect(zipped), `UserData(${zipped.length} bytes, gzip)`);
  assert.ok(zipped.isMultipart());
  const parts = zipped.parts();
  assert.deepEqual(parts.map((p) => [p.contentType, p.filename, p.charset, new TextDecoder().decode(p.data)]), [
    ['text/cloud-config', 'a.yaml', 'utf-8', '#cloud-config\nGrüße'],
    ['text/x-shellscript', null, null, '#!/bin/sh\necho hé!'],
  ]);
  assert.equal(userData.text(Buffer.from('plain')), 'plain');
  assert.deepEqual(userData.parts(Buffer.from('plain')).map((p) => p.contentType), [null]);
  assert.equal(GUNZIP_LIMIT, 16 * 1024 * 1024); // the driver's, as in every host
  const bomb = UserData.from(gzipSync(Buffer.alloc(GUNZIP_LIMIT + 1)));
  // The driver's record, as every host reports it: bad_response with its words.
  const bad = (words) => (e) => e instanceof BadResponseError && e.code === 'bad_response' && words.test(e.message);
  assert.throws(() => bomb.decompress(), bad(/exceeds 16777216 bytes/));
  const corrupt = UserData.from(gzipSync(Buffer.from('hello')));
  corrupt[corrupt.length - 5] ^= 1; // the CRC
  assert.throws(() => corrupt.decompress(), bad(/gzip/));
  const twoMembers = UserData.from(Buffer.concat([gzipSync(Buffer.from('a')), gzipSync(Buffer.from('b'))]));
  assert.equal(twoMembers.text(), 'ab');
});

test('an AbortSignal ends a call: its reason, nothing more sent', async () => {
  await emu.call('POST', '/faults/black_hole', { route_prefix: '/metadata/' });
  const c = client();
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('enough')), 200);
  const start = performance.now();
  await assert.rejects(c.instance({ signal: controller.signal }), /enough/);
  assert.ok(performance.now() - start < 1500, 'aborted promptly');
  await assert.rejects(c.instance({ signal: AbortSignal.abort() }), { name: 'AbortError' });
  const pages = c.keys({ signal: AbortSignal.abort() });
  await assert.rejects(pages.next(), { name: 'AbortError' });
  await assert.rejects(c.instance({ signal: 'nope' }), InvalidInputError);
  const before = (await emu.counters()).requests;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await emu.counters()).requests, before, 'nothing sent after the abort');
});

test('a call with an already-aborted signal opens no connection', async () => {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const endpoint = `http://127.0.0.1:${server.address().port}`;
    const c = new Client({ endpoint, useEnv: false, fetch });
    const signal = AbortSignal.abort();
    const aborted = { name: 'AbortError' };
    await assert.rejects(c.instance({ signal }), aborted);
    await assert.rejects(c.identityToken({ signal }), aborted);
    await assert.rejects(c.iamToken({ profileName: 'p', signal }), aborted);
    await assert.rejects(new IamTokenCache(c).token({ signal }), aborted);
    await assert.rejects(c.userData({ signal }), aborted);
    await assert.rejects(c.sshKeys({ signal }), aborted);
    await assert.rejects(c.getAll('keys', { signal }), aborted);
    await assert.rejects(c.getPages('keys', { signal }).next(), aborted);
    await assert.rejects(c.keys({ signal }).next(), aborted);
    await assert.rejects(c.waitUntilReady(1, { signal }), aborted);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(connections, 0);
  } finally {
    server.close();
  }
});

/**
 * A loopback port that never completes a connect: a listener in another process whose
 * accept queue is full (its process never accepts) drops every further SYN.
 */
async function blackHoledPort() {
  const { spawn } = await import('node:child_process');
  const { connect } = await import('node:net');
  const holder = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      console.log(s.address().port);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never accepts
    });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    holder.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    holder.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  const fillers = [];
  for (let queued = 0; queued < 8; queued++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    const connected = await new Promise((r) => {
      socket.once('connect', () => r(true));
      setTimeout(() => r(false), 300);
    });
    if (!connected) break; // the queue is full: this SYN was dropped
  }
  return {
    port,
    close() {
      for (const s of fillers) s.destroy();
      holder.kill('SIGKILL');
    },
  };
}

test('nothing of a call to a black hole outlives it: the process exits once it fails', async () => {
  const { spawn } = await import('node:child_process');
  const hole = await blackHoledPort();
  try {
    const endpoint = `http://127.0.0.1:${hole.port}`;
    // Node's sockets (the default there), and fetch with its dispatcher (fetchTransport()).
    for (const via of ['', 'transport: fetchTransport(),']) {
      for (const how of ['timeout: 0.5', 'signal: AbortSignal.timeout(300)']) {
        // The child fails one call, prints when, and has nothing else to do.
        const script = `
          import { Client, fetchTransport } from 'vpc-imds-wasm';
          const c = new Client({ endpoint: ${JSON.stringify(endpoint)}, useEnv: false, ${via} timeout: 5 });
          try { await c.instance({ ${how.startsWith('signal') ? how : ''} }); } catch (e) { console.log(e.name, e.code); }
        `.replace('timeout: 5', how.startsWith('timeout') ? how : 'timeout: 5');
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'inherit'] });
        const failed = await new Promise((resolve) => child.stdout.once('data', (d) => resolve({ at: performance.now(), what: String(d).trim() })));
        const exited = await new Promise((resolve) => child.once('exit', () => resolve(performance.now())));
        assert.match(failed.what, how.startsWith('signal') ? /^TimeoutError/ : /^TimedOutError timed_out$/, `${via} ${how}`);
        const linger = exited - failed.at;
        assert.ok(linger < 1000, `${via} ${how}: the process lingered ${Math.round(linger)} ms after the call failed`);
      }
    }
  } finally {
    hole.close();
  }
});

test('under Node the client speaks over node:net sockets; over fetch when given one', async () => {
  const real = globalThis.fetch;
  let fetches = 0;
  globalThis.fetch = (...args) => ((fetches += 1), real(...args));
  try {
    assert.equal((await new Client({ endpoint: emu.base, useEnv: false }).instance()).name, 'emu-vsi-1');
    assert.equal(fetches, 0, 'the default client fetched');
    assert.equal((await new Client({ endpoint: emu.base, useEnv: false, fetch: globalThis.fetch }).instance()).name, 'emu-vsi-1');
    assert.equal(fetches, 2, 'token and instance over the fetch given');
  } finally {
    globalThis.fetch = real;
  }
});

test('fetchTransport is the default transport where there are no sockets, and takes any fetch', async () => {
  const urls = [];
  const c = client({ transport: fetchTransport((url, init) => { urls.push(url); return fetch(url, init); }) });
  assert.equal((await c.instance()).name, 'emu-vsi-1');
  assert.equal(urls.length, 2);
  const d = client({ fetch: (url, init) => { urls.push(url); return fetch(url, init); } });
  assert.equal((await d.instance()).name, 'emu-vsi-1');
  assert.equal(urls.length, 4);
});

test('a response over the size limit is a bad response', async () => {
  const big = JSON.stringify({ access_token: 'x'.repeat(5000), expires_in: 300 });
  const c = client({ maxResponseBytes: 2048, transport: async () => ({ status: 200, body: big }) });
  await rejects(c.identityToken(), BadResponseError);
});

test('over fetch, bodies past the limit are refused, chunked or compressed', async () => {
  const { createServer: http } = await import('node:http');
  const { gzipSync } = await import('node:zlib');
  const zeros = gzipSync(Buffer.alloc(64 << 20));
  const server = http((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/identity/')) {
      res.end('{"access_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln","expires_in":300}');
    } else if (req.url.startsWith('/metadata/v1/chunked')) {
      res.write('{"a":"');
      res.end(`${'x'.repeat(8000)}"}`);
    } else {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': zeros.length });
      res.end(zeros);
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const endpoint = `http://127.0.0.1:${server.address().port}`;
    const c = new Client({ endpoint, useEnv: false, maxResponseBytes: 4096, fetch });
    await rejects(c.get('chunked'), BadResponseError, (e) => assert.match(e.message, /large|limit|exceed/i));
    const before = process.memoryUsage().arrayBuffers;
    await rejects(c.get('gz'), BadResponseError);
    assert.ok(process.memoryUsage().arrayBuffers - before < (16 << 20), 'the 64 MiB gzip bomb was not inflated');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('over fetch, a transfer coding the core refuses is a bad response, as on a socket', async () => {
  const token = '{"access_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln","expires_in":300}';
  const chunked = (s) => `${s.length.toString(16)}\r\n${s}\r\n0\r\n\r\n`;
  // fetch accepts each of these (it de-chunks, or reads to the close) and shows the header.
  const refused = {
    'two lines': `Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(token)}`,
    'gzip line, then chunked': `Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(token)}`,
    'chunked, identity': `Transfer-Encoding: chunked, identity\r\nConnection: close\r\n\r\n${token}`,
    'gzip, chunked': `Transfer-Encoding: gzip, chunked\r\n\r\n${chunked(token)}`,
  };
  const accepted = { chunked: `Transfer-Encoding: chunked\r\n\r\n${chunked(token)}`, length: `Content-Length: ${token.length}\r\n\r\n${token}` };
  let answer;
  let requests = 0;
  const server = createServer((socket) => {
    socket.once('data', () => {
      requests += 1;
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${answer}`);
    });
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const endpoint = `http://127.0.0.1:${server.address().port}`;
    for (const [name, wire] of Object.entries(refused)) {
      answer = wire;
      requests = 0;
      await rejects(new Client({ endpoint, useEnv: false, fetch }).identityToken(), BadResponseError, (e) => {
        assert.match(e.message, /Transfer-Encoding/, name);
        assert.equal(e.reason, 'http', name);
      });
      assert.equal(requests, 1, `${name}: not retried`);
    }
    for (const [name, wire] of Object.entries(accepted)) {
      answer = wire;
      assert.equal((await new Client({ endpoint, useEnv: false, fetch }).identityToken()).expiresIn, 300, name);
    }
  } finally {
    server.close();
  }
  // A custom transport's headers, as pairs or an object, are judged the same way.
  const body = new TextEncoder().encode(token);
  const transport = (headers) => async () => ({ status: 200, headers, body });
  await rejects(client({ transport: transport([['Transfer-Encoding', 'chunked'], ['transfer-encoding', 'chunked']]) }).identityToken(), BadResponseError);
  await rejects(client({ transport: transport({ 'Transfer-Encoding': 'gzip, chunked' }) }).identityToken(), BadResponseError);
  assert.equal((await client({ transport: transport({ 'transfer-encoding': 'chunked' }) }).identityToken()).expiresIn, 300);
});

test('getAll streams ~1 MB pages through the module: its memory stays near one page', async () => {
  const { createServer: http } = await import('node:http');
  const { default: init } = await import('../pkg/vpc_imds_wasm.js');
  const { memory } = await init(); // the instance the package runs on
  const pages = 40;
  const item = (i) => `{"id":"i${i}","data":"${'A'.repeat(19000)}"}`;
  const server = http((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/identity/')) return res.end('{"access_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln","expires_in":300}');
    const start = Number(new URL(req.url, 'http://x').searchParams.get('start') ?? 0);
    const items = Array.from({ length: 50 }, (_, i) => item(start * 50 + i)).join(',');
    const next = start + 1 < pages ? `,"next":{"href":"http://127.0.0.1:${server.address().port}/metadata/v1/big?start=${start + 1}"}` : '';
    res.end(`{"items":[${items}],"limit":50${next}}`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const c = new Client({ endpoint: `http://127.0.0.1:${server.address().port}`, useEnv: false, timeout: 120, fetch });
    const before = memory.buffer.byteLength;
    const all = await c.getAll('big');
    const grew = memory.buffer.byteLength - before;
    assert.equal(all.items.length, pages * 50);
    assert.equal(all.items.at(-1).id, `i${pages * 50 - 1}`);
    assert.equal(all.next, undefined);
    assert.ok(grew < (8 << 20), `the module's memory grew by ${grew >> 20} MB for ${pages} pages of ~1 MB`);
  } finally {
    server.close();
  }
});

test('a dropped client is garbage collected (the module holds its waker weakly)', { skip: typeof globalThis.gc !== 'function' && 'needs node --expose-gc' }, async () => {
  let collected = false;
  const registry = new FinalizationRegistry(() => { collected = true; });
  (() => {
    const c = client();
    registry.register(c, 'client');
  })();
  for (let i = 0; i < 20 && !collected; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(collected, 'the client was collected');
});

test('the endpoint comes from VPC_IMDS_ENDPOINT unless given', () => {
  process.env.VPC_IMDS_ENDPOINT = emu.base;
  try {
    assert.equal(new Client().endpoint, emu.base);
    assert.equal(new Client({ useEnv: false }).endpoint, 'http://169.254.169.254');
    assert.equal(new Client({ endpoint: 'http://127.0.0.1:1' }).endpoint, 'http://127.0.0.1:1');
    assert.equal(new Client({ useEnv: false, secure: true }).endpoint, 'https://api.metadata.cloud.ibm.com');
  } finally {
    delete process.env.VPC_IMDS_ENDPOINT;
  }
});

test("Node's fetch bounds the connect by the machine's connect timeout", async () => {
  const hole = await blackHoledPort();
  try {
    const endpoint = `http://127.0.0.1:${hole.port}`;
    const c = new Client({ endpoint, useEnv: false, timeout: 20, connectTimeout: 0.2, maxAttempts: 2, transport: fetchTransport() });
    // Without the bound, undici waits 10 s for the connect and it is a response timeout.
    await assert.rejects(c.instance(), (e) => e instanceof TimedOutError && e.transport === 'connect_timeout');
  } finally {
    hole.close();
  }
});

test("a transport's own error is the failure's cause; its deadline's reason is a TimeoutError", async () => {
  const bug = new Client({ endpoint: emu.base, useEnv: false, maxAttempts: 1, transport: async () => undefinedVariable }); // eslint-disable-line no-undef
  await assert.rejects(bug.instance(), (e) => e instanceof ImdsError && e.cause instanceof ReferenceError);
  let reason;
  const slow = new Client({
    endpoint: emu.base, useEnv: false, timeout: 0.3, maxAttempts: 1,
    transport: (request) => new Promise((_, reject) => request.signal.addEventListener('abort', () => reject((reason = request.signal.reason)))),
  });
  await assert.rejects(slow.instance(), (e) => e instanceof TimedOutError);
  assert.ok(reason instanceof DOMException && reason.name === 'TimeoutError', String(reason));
});

test('ca is checked, and refused where only fetch or your transport speaks TLS', () => {
  assert.throws(() => new Client({ endpoint: emu.base, ca: 42 }), (e) => e instanceof InvalidInputError && /\bca\b/.test(e.message));
  assert.throws(() => new Client({ endpoint: emu.base, ca: 'PEM', fetch: globalThis.fetch }), InvalidInputError);
  assert.throws(() => new Client({ endpoint: emu.base, ca: ['PEM'], transport: fetchTransport() }), InvalidInputError);
  assert.equal(new Client({ endpoint: emu.base, useEnv: false, ca: ['PEM', new Uint8Array(1)] }).endpoint, emu.base);
});

test('a signal is checked for what the client uses of it', async () => {
  const c = new Client({ endpoint: emu.base, useEnv: false });
  await assert.rejects(c.instance({ signal: { aborted: false } }), (e) => e instanceof InvalidInputError && /signal/.test(e.message));
  // A polyfilled signal without throwIfAborted still works.
  const target = new EventTarget();
  const polyfill = { aborted: false, reason: undefined, addEventListener: target.addEventListener.bind(target), removeEventListener: target.removeEventListener.bind(target) };
  assert.equal((await c.instance({ signal: polyfill })).name, 'emu-vsi-1');
  polyfill.aborted = true;
  polyfill.reason = new Error('stopped');
  await assert.rejects(c.instance({ signal: polyfill }), /stopped/);
});
