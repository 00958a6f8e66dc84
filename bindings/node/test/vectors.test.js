'use strict';
// Runs every case of tests/vectors/*.json through the binding's client machine
// (the NodeMachine every Client steps), on the vectors' clock, with the semantics
// of bindings/python/tests/test_vectors.py: the step returned after a "pending"
// answer is the next vector step's; a failure is reported once and ends the
// operation; the machine leaves a request's deadline to the host's reads, so at the
// deadline the runner reports response_timeout; the machine runs any number of
// operations at once; the machine mixes its seed before its first operation's
// driver gets it, so the runner passes the seed that mixes into the vector's. Raw
// responses are fed in chunkings 0 (all), 1 and 7 bytes, then EOF if the machine
// still reads.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const native = require('../lib/native.js');
const { STEP } = require('../lib/client.js');

const dir = path.join(__dirname, '..', '..', '..', 'tests', 'vectors');
const MANY_AT_ONCE = 'a second start while busy is refused';
const MASK = (1n << 64n) - 1n;

/** The machine seed whose SplitMix64 step is `z` (the driver's jitter seed), as 8 bytes. */
function unmix(z) {
  const unshift = (v, n) => {
    let x = v;
    for (let i = 0; i <= 64 / n; i++) x = v ^ (x >> BigInt(n));
    return x & MASK;
  };
  const inverse = (a) => {
    let x = a;
    for (let i = 0; i < 6; i++) x = (x * (2n - a * x)) & MASK;
    return x;
  };
  z = unshift(BigInt(z), 31);
  z = unshift((z * inverse(0x94d049bb133111ebn)) & MASK, 27);
  z = unshift((z * inverse(0xbf58476d1ce4e5b9n)) & MASK, 30);
  const seed = Buffer.alloc(8);
  seed.writeBigUInt64LE((z - 0x9e3779b97f4a7c15n) & MASK);
  return seed;
}

function machineFor(v) {
  const ms = (k) => (v[k] === undefined ? undefined : v[k] / 1000);
  const settings = {
    endpoint: v.endpoint,
    version: v.version,
    tokenLifetime: v.token_lifetime,
    timeout: ms('operation_timeout_ms'),
    requestTimeout: ms('request_timeout_ms'),
    maxAttempts: v.max_attempts,
    baseDelay: ms('base_delay_ms'),
    maxDelay: ms('max_delay_ms'),
    maxResponseBytes: v.buffer === undefined ? 65536 : v.buffer,
  };
  const m = native.machine(settings, unmix(v.seed ?? 1), true);
  assert.ok(typeof m !== 'string', `settings ${m}`);
  return m;
}

const opArgs = (op) => ({
  id: op.id,
  expiresIn: op.expires_in,
  profileId: op.profile_id,
  profileCrn: op.profile_crn,
  profileName: op.profile_name,
  csr: op.csr,
  path: op.path,
  allPages: op.all_pages,
});

function lookup(value, dotted) {
  const parts = dotted.split('.');
  let v = value;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === '#' && i === parts.length - 1) return Array.isArray(v) ? v.length : null;
    if (v === null || typeof v !== 'object') return null;
    if (Array.isArray(v)) {
      const n = Number(part);
      v = Number.isInteger(n) && n < v.length ? v[n] : null;
    } else {
      v = Object.prototype.hasOwnProperty.call(v, part) ? v[part] : null;
    }
    if (v === undefined) return null;
  }
  return v === undefined ? null : v;
}

function checkOutput(ctx, s, expected) {
  assert.equal(s.typeName, expected.type, `${ctx}: output type`);
  const doc = JSON.parse(s.json);
  if (expected.json !== undefined) assert.deepEqual(doc, expected.json, `${ctx}: raw document`);
  for (const [p, want] of Object.entries(expected.fields || {})) {
    assert.deepEqual(lookup(doc, p), want, `${ctx}: field ${p}`);
  }
}

function checkError(ctx, text, expected) {
  const err = JSON.parse(text);
  assert.equal(err.kind, expected.kind, `${ctx}: kind (${err.message})`);
  assert.ok(!text.includes('eyJ'), `${ctx}: error record leaks a token`);
  if (expected.status !== undefined) assert.equal(err.status ?? null, expected.status, `${ctx}: status`);
  for (const [key, field] of [['code', 'code'], ['trace', 'trace'], ['message', 'api_message']]) {
    // An empty string means absent.
    if (typeof expected[key] === 'string') assert.equal(err[field] ?? '', expected[key], `${ctx}: ${key}`);
  }
  if (expected.cause !== undefined) assert.equal(err.cause, expected.cause, `${ctx}: cause`);
}

function checkEvent(ctx, got, expected) {
  const what = JSON.stringify(got.error ?? got.kind);
  if (expected === 'pending') {
    assert.ok(got.kind === STEP.SEND || got.kind === STEP.BACKOFF, `${ctx}: expected pending, got ${what}`);
  } else if (expected.page) {
    assert.equal(got.kind, STEP.PAGE, `${ctx}: expected a page, got ${what}`);
    checkOutput(ctx, got, expected.page);
  } else if (expected.done) {
    assert.equal(got.kind, STEP.DONE, `${ctx}: expected done, got ${what}`);
    checkOutput(ctx, got, expected.done);
  } else if (expected.failed) {
    assert.equal(got.kind, STEP.FAILED, `${ctx}: expected failure, got ${what}`);
    checkError(ctx, got.error, expected.failed);
  } else {
    assert.fail(`${ctx}: unknown expectation ${JSON.stringify(expected)}`);
  }
}

function checkSend(ctx, s, want) {
  const parts = s.request;
  if (want.method !== undefined) assert.equal(parts.method, want.method, `${ctx}: method`);
  if (want.target !== undefined) assert.equal(parts.target, want.target, `${ctx}: target`);
  if (want.headers !== undefined) {
    assert.deepEqual(parts.headers.map((h) => [h.name, h.value]), want.headers, `${ctx}: headers`);
  }
  if (want.body !== undefined) assert.equal(parts.body ?? null, want.body, `${ctx}: body`);
  if (want.raw !== undefined) assert.equal(s.wire.toString('latin1'), Buffer.from(want.raw, 'utf8').toString('latin1'), `${ctx}: raw`);
  assert.ok(parts.url.endsWith(parts.target), `${ctx}: url`);
}

function loadBody(resp) {
  if (typeof resp.body === 'string') return Buffer.from(resp.body, 'utf8');
  if (typeof resp.body_file === 'string') return fs.readFileSync(path.join(dir, resp.body_file));
  return Buffer.alloc(0);
}

/** The step after any connection closes (a socket host's matter). */
function settle(m, op, now, s) {
  while (s.kind === STEP.CLOSE) s = m.step(op, now);
  return s;
}

function feedRaw(m, op, raw, chunk, now) {
  const size = chunk === 0 ? Math.max(raw.length, 1) : chunk;
  for (let i = 0; i < raw.length; i += size) {
    const s = m.feed(op, now, raw.subarray(i, i + size));
    if (s.kind !== STEP.READ) return s;
  }
  const s = m.feed(op, now, Buffer.alloc(0));
  assert.notEqual(s.kind, STEP.READ, 'the reader wants more after end of stream');
  return s;
}

function runCase(c, chunk) {
  const m = machineFor(c.config || {});
  let op = 0;
  let pending = null;
  let justFailed = false;
  let deadline = 0; // of the request in flight
  c.steps.forEach((step, i) => {
    const ctx = `${c.name} [chunk ${chunk}] step ${i}`;
    const now = step.at ?? 0;
    const next = () => {
      let got = pending ?? settle(m, op, now, m.step(op, now));
      pending = null;
      if (got.kind === STEP.READ && now >= deadline) got = settle(m, op, now, m.fail(op, now, 'response_timeout'));
      if (got.kind === STEP.SEND) deadline = now + got.timeout;
      return got;
    };
    if (step.start) {
      justFailed = false;
      const busy = c.name === MANY_AT_ONCE && m.operations > 0;
      const started = m.start(step.start.op, opArgs(step.start), now);
      if (busy) {
        assert.ok(typeof started === 'number' && started !== op, `${ctx}: a second operation runs`);
      } else if (step.error) {
        assert.equal(typeof started, 'string', `${ctx}: start succeeded, expected ${JSON.stringify(step.error)}`);
        checkError(ctx, started, step.error);
      } else {
        assert.equal(typeof started, 'number', `${ctx}: start failed: ${started}`);
        op = started;
      }
      return;
    }
    const failedBefore = justFailed;
    justFailed = false;
    if (step.send) {
      const got = next();
      assert.equal(got.kind, STEP.SEND, `${ctx}: expected send, got ${JSON.stringify(got.error ?? got.kind)}`);
      checkSend(ctx, got, step.send);
    } else if (step.wait !== undefined) {
      const got = next();
      if (got.kind === STEP.READ) {
        // The answer is awaited until the request deadline.
        assert.equal(step.wait, deadline, `${ctx}: expected wait, the request deadline is ${deadline}`);
        return;
      }
      assert.equal(got.kind, STEP.BACKOFF, `${ctx}: expected wait, got ${JSON.stringify(got.error ?? got.kind)}`);
      assert.equal(got.until, step.wait, `${ctx}: wait until`);
    } else if (step.poll_failed) {
      if (failedBefore && m.operations === 0) return;
      const got = next();
      assert.equal(got.kind, STEP.FAILED, `${ctx}: expected failure, got kind ${got.kind}`);
      checkError(ctx, got.error, step.poll_failed);
    } else if (step.idle) {
      assert.ok(pending === null && m.operations === 0, `${ctx}: expected idle`);
    } else if (step.respond || step.transport_error) {
      const resp = step.respond;
      let got;
      if (step.transport_error) got = m.fail(op, now, step.transport_error);
      else if (typeof resp.raw === 'string') got = feedRaw(m, op, Buffer.from(resp.raw, 'utf8'), chunk, now);
      else got = m.respond(op, now, resp.status, resp.retry_after === undefined ? undefined : String(resp.retry_after), loadBody(resp));
      got = settle(m, op, now, got);
      if (got.kind === STEP.SEND) deadline = now + got.timeout;
      checkEvent(ctx, got, step.expect);
      justFailed = got.kind === STEP.FAILED;
      if (step.expect === 'pending') pending = got;
    } else {
      assert.fail(`${ctx}: unknown step ${JSON.stringify(step)}`);
    }
  });
}

function runMerge(c) {
  const merged = native.mergePageBodies(c.merge);
  if (typeof c.expect === 'string') {
    assert.equal(merged, c.expect, c.name);
  } else {
    assert.equal(c.expect.error, 'bad_response', `${c.name}: expectation`);
    assert.equal(merged, null, `${c.name}: merged a bad page`);
  }
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
let sessions = 0;
let merges = 0;

for (const file of files) {
  const doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  test.describe(file, () => {
    for (const c of doc.cases) {
      test.it(c.name, () => {
        if (c.merge) {
          runMerge(c);
          merges += 1;
          return;
        }
        const raw = c.steps.some((s) => s.respond && typeof s.respond.raw === 'string');
        for (const chunk of raw ? [0, 1, 7] : [0]) runCase(c, chunk);
        sessions += 1;
      });
    }
  });
}

test.after(() => {
  console.log(`# ${sessions} session vectors and ${merges} merge vectors passed through the Node binding's machine`);
});

test.test('enough vectors ran', () => {
  // Counted by the cases above, which run first (tests run in order).
  assert.ok(sessions >= 100 && merges >= 5, `too few vectors: ${sessions} + ${merges}`);
});
