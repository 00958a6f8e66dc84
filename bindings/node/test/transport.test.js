'use strict';
// A custom transport (the documented pluggable interface), without a server:
// what it is given, how its answers and exceptions are read.

const test = require('node:test');
const assert = require('node:assert/strict');
const imds = require('../lib/index.js');

const token = (s) => JSON.stringify({ access_token: `eyJhbGciOiJIUzI1NiJ9.${s}.sig`, expires_in: 300 });

function scripted(answers) {
  const seen = [];
  const transport = async (req) => {
    seen.push(req);
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next(req) : next;
  };
  return { transport, seen };
}

test('requests as parts: method, URL, headers without Host, body; answers as parts', async () => {
  const { transport, seen } = scripted([
    { status: 200, headers: { 'Content-Type': 'application/json' }, body: token('a') },
    { status: 200, body: new TextEncoder().encode('{"id":"i-1","crn":"crn:x","name":"vsi"}') },
  ]);
  const c = new imds.Client({ endpoint: 'http://127.0.0.1:9', transport });
  const inst = await c.instance();
  assert.equal(inst.name, 'vsi');
  assert.equal(seen[0].method, 'PUT');
  assert.equal(seen[0].url, 'http://127.0.0.1:9/identity/v1/token?version=2025-08-26');
  assert.equal(seen[0].headers['Metadata-Flavor'], 'ibm');
  assert.equal(seen[0].headers.Host, undefined);
  assert.equal(seen[0].body, '{"expires_in":300}');
  assert.ok(seen[0].signal instanceof AbortSignal);
  assert.ok(seen[0].timeout > 0 && seen[0].connectTimeout > 0);
  assert.equal(seen[1].method, 'GET');
  assert.match(seen[1].headers.Authorization, /^Bearer eyJ/);
});

test('Retry-After from a Headers object is honoured', async () => {
  const { transport } = scripted([
    { status: 200, body: token('b') },
    { status: 429, headers: new Headers({ 'retry-after': '1' }), body: '{"errors":[{"code":"too_many_requests","message":"slow down"}]}' },
    { status: 200, body: '{"id":"i","crn":"c","name":"n"}' },
  ]);
  const t0 = performance.now();
  await new imds.Client({ endpoint: 'http://127.0.0.1:9', transport }).instance();
  assert.ok(performance.now() - t0 >= 950);
});

test('a Retry-After sent twice is no delay, in every form of headers', async () => {
  const busy = '{"errors":[{"code":"service_error","message":"busy"}]}';
  const twice = new Headers([['retry-after', '30'], ['retry-after', '60']]);
  const raw = ['Content-Type', 'application/json', 'Retry-After', '30', 'Retry-After', '60']; // Node's rawHeaders
  for (const headers of [twice, [['Retry-After', '30'], ['retry-after', '60']], { 'retry-after': ['30', '60'] }, raw]) {
    const { transport, seen } = scripted([
      { status: 200, body: token('r') },
      { status: 503, headers, body: busy },
      { status: 200, body: '{"id":"i","crn":"c","name":"n"}' },
    ]);
    // Either line honoured would pass the 5 s deadline and fail at once.
    const inst = await new imds.Client({ endpoint: 'http://127.0.0.1:9', transport, timeout: 5 }).instance();
    assert.equal(inst.name, 'n');
    assert.equal(seen.length, 3);
  }
});

test('a transfer coding other than chunked is a bad response', async () => {
  const { transport } = scripted([
    { status: 200, body: token('t') },
    { status: 200, headers: [['Transfer-Encoding', 'gzip'], ['Transfer-Encoding', 'chunked']], body: '{}' },
  ]);
  await assert.rejects(new imds.Client({ endpoint: 'http://127.0.0.1:9', transport }).instance(), imds.BadResponseError);
});

test('exceptions map to transport failures', async () => {
  const cases = [
    [Object.assign(new Error('x'), { transport: 'tls' }), imds.RefusedError, 'tls'],
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), imds.RefusedError, 'refused'],
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), imds.ConnectionLostError, 'connection_lost'],
    // A firewall's refusal, as the socket transport and every other host read it.
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'EACCES' } }), imds.RefusedError, 'unreachable'],
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'EPERM' } }), imds.RefusedError, 'unreachable'],
  ];
  for (const [err, Class, name] of cases) {
    const { transport } = scripted([err, err, err, err]);
    await assert.rejects(new imds.Client({ endpoint: 'http://127.0.0.1:9', transport, maxAttempts: 1 }).instance(), (e) => e instanceof Class && e.transport === name);
  }
});

test('a transport that never answers ends at the request deadline', async () => {
  const transport = (req) => new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(new Error('aborted'))));
  const c = new imds.Client({ endpoint: 'http://127.0.0.1:9', transport, timeout: 0.3 });
  await assert.rejects(c.instance(), (e) => e instanceof imds.TimedOutError && e.transport === 'response_timeout');
});

test('a transport that ignores its signal still ends at the deadline, and on abort', async () => {
  const transport = () => new Promise(() => {});
  const c = new imds.Client({ endpoint: 'http://127.0.0.1:9', transport, timeout: 0.2 });
  await assert.rejects(c.instance(), imds.TimedOutError);
  const slow = new imds.Client({ endpoint: 'http://127.0.0.1:9', transport });
  await assert.rejects(slow.instance({ signal: AbortSignal.timeout(100) }), (e) => e.name === 'TimeoutError');
});

test('a transport that is not a function is invalid input', () => {
  assert.throws(() => new imds.Client({ transport: 42 }), imds.InvalidInputError);
});

test('classify reads an errno name by the core table, as Python reads a custom transport', () => {
  const { classify } = imds;
  const coded = (code) => Object.assign(new Error('x'), { code });
  // Python reads OSError(errno.EPROTO) and OSError(errno.EINVAL) alike (test_transport.py).
  assert.equal(classify(coded('EPROTO')), 'tls');
  assert.equal(classify(coded('EINVAL')), 'unreachable');
  assert.equal(classify(coded('ETIMEDOUT')), 'connect_timeout');
  assert.equal(classify(new TypeError('fetch failed', { cause: coded('ECONNREFUSED') })), 'refused');
  assert.equal(classify(coded('UND_ERR_HEADERS_TIMEOUT')), 'response_timeout');
  assert.equal(classify(coded('CERT_HAS_EXPIRED')), 'tls');
  assert.equal(classify(new TypeError('Failed to fetch')), 'connection_lost');
  // The resolver's codes are errno names too (fetch's temporary DNS failure).
  assert.equal(classify(new TypeError('fetch failed', { cause: coded('EAI_AGAIN') })), 'unreachable');
  assert.equal(classify(coded('ERR_INVALID_ARG_TYPE')), 'connection_lost');
  // Our own error thrown in a transport (TransportError misused) is not read by its
  // message ("one of refused, ..."), which would make it a final refusal.
  let misuse;
  try {
    new imds.TransportError('timeout');
  } catch (e) {
    misuse = e;
  }
  assert.ok(misuse instanceof imds.InvalidInputError && /refused/.test(misuse.message));
  assert.equal(classify(misuse), 'connection_lost');
});

test('a status no HTTP server sends is a bad response, not retried, as in every host', async () => {
  for (const status of [1000, 70000, -1, 99]) {
    const { transport, seen } = scripted([{ status: 200, body: token('a') }, { status, body: '{}' }]);
    const c = new imds.Client({ endpoint: 'http://127.0.0.1:9', transport });
    await assert.rejects(c.instance(), (e) => e instanceof imds.BadResponseError, String(status));
    assert.equal(seen.length, 2, `${status}: retried`);
  }
});

test("Node's fetch gets a dispatcher of the transport's own, whose connects end with its calls", async () => {
  const real = globalThis.fetch;
  await real('data:,'); // undici (Node's fetch) loaded, its global dispatcher set
  const dispatchers = [];
  globalThis.fetch = (url, init) => {
    dispatchers.push(init.dispatcher);
    return Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
  };
  try {
    const c = new imds.Client({ endpoint: 'http://127.0.0.1:9', transport: imds.fetchTransport(), maxAttempts: 1, useEnv: false });
    await assert.rejects(c.instance(), imds.RefusedError);
  } finally {
    globalThis.fetch = real;
  }
  assert.equal(dispatchers.length, 1);
  assert.equal(dispatchers[0]?.constructor?.name, 'Agent', 'an undici Agent of its own, not the global dispatcher');
  assert.notEqual(dispatchers[0], globalThis[Symbol.for('undici.globalDispatcher.1')]);
});

test("fetchTransport() stops reading a body at the client's maxResponseBytes", async () => {
  let pulled = 0;
  const endless = () => new Response(new ReadableStream({
    pull(controller) {
      pulled += 1;
      controller.enqueue(new Uint8Array(512).fill(0x20));
    },
  }), { status: 200 });
  const fake = async (url, init) => (init.method === 'PUT'
    ? new Response(token('a'), { status: 200 })
    : endless());
  const c = new imds.Client({
    endpoint: 'http://127.0.0.1:9', transport: imds.fetchTransport(fake), maxResponseBytes: 2048, useEnv: false, timeout: 5,
  });
  await assert.rejects(c.instance(), (e) => e.code === 'bad_response');
  assert.ok(pulled <= 6, `${pulled} chunks of 512 bytes read for a 2048-byte limit`);
});
