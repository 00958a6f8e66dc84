'use strict';
// Runs every case of tests/vectors/*.json through the binding's native driver
// (the same NodeDriver the client drives), with the semantics of
// driver/tests/vectors.rs: after a fed response whose expectation is "pending",
// the step returned answers the next send/wait/poll_failed step; a poll_failed
// right after a fed failure is satisfied by Idle (the driver reports a failure
// once); raw responses are fed in chunkings 0 (all), 1 and 7 bytes, then EOF if
// the driver still reads; cases with `merge` go through the page merger.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const native = require('../lib/native.js');

const STEP = { SEND: 0, READ: 1, WAIT: 2, WAIT_FOR_TOKEN: 3, PAGE: 4, DONE: 5, FAILED: 6, STALE: 7, IDLE: 8 };
const dir = path.join(__dirname, '..', '..', '..', 'tests', 'vectors');

function settingsFrom(v) {
  const ms = (k) => (v[k] === undefined ? undefined : v[k] / 1000);
  return {
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
}

function opArgs(op) {
  return {
    id: op.id,
    expiresIn: op.expires_in,
    profileId: op.profile_id,
    profileCrn: op.profile_crn,
    profileName: op.profile_name,
    csr: op.csr,
    path: op.path,
    allPages: op.all_pages,
  };
}

/** A step detached from the driver, with the request parts when it is a send. */
function detach(driver, out) {
  if (out.kind === STEP.SEND) return { ...out, parts: driver.request() };
  return out;
}

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

function checkOutput(ctx, out, expected) {
  assert.equal(out.typeName, expected.type, `${ctx}: output type`);
  const doc = JSON.parse(out.json);
  if (expected.json !== undefined) assert.deepEqual(doc, expected.json, `${ctx}: raw document`);
  for (const [p, want] of Object.entries(expected.fields || {})) {
    assert.deepEqual(lookup(doc, p), want, `${ctx}: field ${p}`);
  }
}

function checkError(ctx, err, expected) {
  assert.equal(err.kind, expected.kind, `${ctx}: kind (${err.text})`);
  assert.ok(!err.text.includes('eyJ'), `${ctx}: error text leaks a token`);
  if (expected.status !== undefined) assert.equal(err.status ?? null, expected.status, `${ctx}: status`);
  for (const key of ['code', 'trace', 'message']) {
    if (typeof expected[key] === 'string') {
      // An empty string means absent.
      assert.equal(err[key] ?? '', expected[key], `${ctx}: ${key}`);
    }
  }
  if (expected.cause !== undefined) assert.equal(err.cause, expected.cause, `${ctx}: cause`);
}

function checkEvent(ctx, got, expected) {
  if (expected === 'pending') {
    assert.ok(got.kind === STEP.SEND || got.kind === STEP.WAIT, `${ctx}: expected pending, got kind ${got.kind}`);
  } else if (expected.page) {
    assert.equal(got.kind, STEP.PAGE, `${ctx}: expected a page, got ${JSON.stringify(got.error ?? got.kind)}`);
    checkOutput(ctx, got, expected.page);
  } else if (expected.done) {
    assert.equal(got.kind, STEP.DONE, `${ctx}: expected done, got ${JSON.stringify(got.error ?? got.kind)}`);
    checkOutput(ctx, got, expected.done);
  } else if (expected.failed) {
    assert.equal(got.kind, STEP.FAILED, `${ctx}: expected failure, got kind ${got.kind}`);
    checkError(ctx, got.error, expected.failed);
  } else {
    assert.fail(`${ctx}: unknown expectation ${JSON.stringify(expected)}`);
  }
}

function checkSend(ctx, parts, wire, want) {
  if (want.method !== undefined) assert.equal(parts.method, want.method, `${ctx}: method`);
  if (want.target !== undefined) assert.equal(parts.target, want.target, `${ctx}: target`);
  if (want.headers !== undefined) {
    assert.deepEqual(parts.headers.map((h) => [h.name, h.value]), want.headers, `${ctx}: headers`);
  }
  if (want.body !== undefined) assert.equal(parts.body ?? null, want.body, `${ctx}: body`);
  if (want.raw !== undefined) assert.equal(wire.toString('latin1'), Buffer.from(want.raw, 'utf8').toString('latin1'), `${ctx}: raw`);
  assert.ok(parts.url.endsWith(parts.target), `${ctx}: url`);
}

function loadBody(resp) {
  if (typeof resp.body === 'string') return Buffer.from(resp.body, 'utf8');
  if (typeof resp.body_file === 'string') return fs.readFileSync(path.join(dir, resp.body_file));
  return Buffer.alloc(0);
}

function feedRaw(driver, raw, chunk, now) {
  const id = driver.awaiting;
  assert.ok(id >= 0, 'a request is awaited');
  const size = chunk === 0 ? Math.max(raw.length, 1) : chunk;
  for (let i = 0; i < raw.length; i += size) {
    const out = driver.feed(now, id, raw.subarray(i, i + size));
    if (out.kind !== STEP.READ) return detach(driver, out);
  }
  const out = driver.feed(now, id, Buffer.alloc(0));
  assert.notEqual(out.kind, STEP.READ, 'the reader wants more after end of stream');
  return detach(driver, out);
}

function runCase(c, chunk) {
  const config = native.configure(settingsFrom(c.config || {}));
  assert.ok(config instanceof native.NodeConfig, `${c.name}: settings ${JSON.stringify(config)}`);
  const seed = (c.config && c.config.seed) ?? 1;
  const driver = new native.NodeDriver(config, new native.NodeTokens(), seed);
  let next = null;
  let justFailed = false;
  c.steps.forEach((step, i) => {
    const ctx = `${c.name} [chunk ${chunk}] step ${i}`;
    const now = step.at ?? 0;
    const outcome = () => {
      if (next) {
        const n = next;
        next = null;
        return n;
      }
      return detach(driver, driver.tick(now));
    };
    if (step.start) {
      const err = driver.start(step.start.op, opArgs(step.start), now);
      if (step.error) {
        assert.ok(err, `${ctx}: start succeeded, expected ${JSON.stringify(step.error)}`);
        checkError(ctx, err, step.error);
      } else {
        assert.equal(err, null, `${ctx}: start failed: ${JSON.stringify(err)}`);
      }
      justFailed = false;
      return;
    }
    const failedBefore = justFailed;
    justFailed = false;
    if (step.send) {
      const got = outcome();
      assert.equal(got.kind, STEP.SEND, `${ctx}: expected send, got ${JSON.stringify(got.error ?? got.kind)}`);
      checkSend(ctx, got.parts, got.wire, step.send);
    } else if (step.wait !== undefined) {
      const got = outcome();
      assert.equal(got.kind, STEP.WAIT, `${ctx}: expected wait, got ${JSON.stringify(got.error ?? got.kind)}`);
      assert.equal(got.until, step.wait, `${ctx}: wait until`);
    } else if (step.poll_failed) {
      const got = outcome();
      if (got.kind === STEP.IDLE && failedBefore) return;
      assert.equal(got.kind, STEP.FAILED, `${ctx}: expected failure, got kind ${got.kind}`);
      checkError(ctx, got.error, step.poll_failed);
    } else if (step.idle) {
      assert.equal(outcome().kind, STEP.IDLE, `${ctx}: expected idle`);
    } else if (step.respond) {
      const resp = step.respond;
      let got;
      if (typeof resp.raw === 'string') {
        got = feedRaw(driver, Buffer.from(resp.raw, 'utf8'), chunk, now);
      } else {
        const id = driver.awaiting;
        assert.ok(id >= 0, `${ctx}: a request is awaited`);
        const retryAfter = resp.retry_after === undefined ? undefined : String(resp.retry_after);
        got = detach(driver, driver.respond(now, id, resp.status, retryAfter, loadBody(resp)));
      }
      checkEvent(ctx, got, step.expect);
      justFailed = got.kind === STEP.FAILED;
      if (step.expect === 'pending') next = got;
    } else if (step.transport_error) {
      const id = driver.awaiting;
      assert.ok(id >= 0, `${ctx}: a request is awaited`);
      const got = detach(driver, driver.fail(now, id, step.transport_error));
      checkEvent(ctx, got, step.expect);
      justFailed = got.kind === STEP.FAILED;
      if (step.expect === 'pending') next = got;
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
  console.log(`# ${sessions} session vectors and ${merges} merge vectors passed through the Node binding`);
});

test.test('enough vectors ran', () => {
  // Counted by the cases above, which run first (tests run in order).
  assert.ok(sessions >= 100 && merges >= 5, `too few vectors: ${sessions} + ${merges}`);
});
