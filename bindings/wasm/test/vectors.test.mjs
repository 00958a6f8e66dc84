// Every case of tests/vectors/*.json through the WebAssembly package's low-level
// Driver, with the driver semantics of driver/tests/vectors.rs: after a fed
// response or transport error expected "pending", the step the driver returned
// answers the next send/wait step; a poll_failed right after a fed failure is
// satisfied by idle (the driver reports a failure once); raw responses are fed in
// chunkings 0 (all), 1 and 7 bytes, then an empty chunk (end of stream) if the
// driver still reads; merge cases go through mergePages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Config, Driver, STEP, mergePages } from 'vpc-imds-wasm';

const dir = process.env.VPC_IMDS_VECTORS ?? fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const utf8 = new TextEncoder();

function configFrom(c) {
  const secs = (k) => (c[k] === undefined ? undefined : c[k] / 1000);
  const config = new Config(
    c.endpoint, undefined, false, c.version, c.token_lifetime,
    secs('operation_timeout_ms'), undefined, secs('request_timeout_ms'), c.max_attempts,
    secs('base_delay_ms'), secs('max_delay_ms'), c.buffer ?? 65536, undefined,
  );
  const seed = new Uint8Array(8);
  new DataView(seed.buffer).setBigUint64(0, BigInt(c.seed ?? 1), true);
  return new Driver(config, seed);
}

function lookup(v, path) {
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p === '#' && i === parts.length - 1) return Array.isArray(v) ? v.length : null;
    if (v === null || typeof v !== 'object') return null;
    v = Array.isArray(v) ? v[Number(p)] : v[p];
    if (v === undefined) return null;
  }
  return v;
}

function checkOutput(ctx, step, want) {
  assert.equal(step.type, want.type, `${ctx}: output type`);
  if ('json' in want) assert.deepEqual(step.value, want.json, `${ctx}: raw document`);
  for (const [path, value] of Object.entries(want.fields ?? {})) {
    assert.deepEqual(lookup(step.value, path), value, `${ctx}: field ${path}`);
  }
}

function checkError(ctx, err, want) {
  assert.ok(err, `${ctx}: expected error ${JSON.stringify(want)}`);
  assert.equal(err.kind, want.kind, `${ctx}: kind (${err.message})`);
  assert.ok(!err.message.includes('eyJ'), `${ctx}: error text leaks a token`);
  if ('status' in want) assert.equal(err.status ?? null, want.status, `${ctx}: status`);
  const names = { code: 'errorCode', trace: 'trace', message: 'errorMessage' };
  for (const [key, field] of Object.entries(names)) {
    if (typeof want[key] === 'string') assert.equal(err[field] ?? '', want[key], `${ctx}: ${key}`);
  }
  if (want.cause) assert.equal(err.reason, want.cause, `${ctx}: cause`);
}

function checkEvent(ctx, got, want) {
  if (want === 'pending') {
    assert.ok(got.k === STEP.SEND || got.k === STEP.WAIT, `${ctx}: expected pending, got ${JSON.stringify(got)}`);
  } else if (want.page) {
    assert.equal(got.k, STEP.PAGE, `${ctx}: expected a page, got ${JSON.stringify(got)}`);
    checkOutput(ctx, got, want.page);
  } else if (want.done) {
    assert.equal(got.k, STEP.DONE, `${ctx}: expected done, got ${JSON.stringify(got.error ?? got.k)}`);
    checkOutput(ctx, got, want.done);
  } else if (want.failed) {
    assert.equal(got.k, STEP.FAILED, `${ctx}: expected failure, got ${JSON.stringify(got)}`);
    checkError(ctx, got.error, want.failed);
  } else {
    assert.fail(`${ctx}: unknown expectation ${JSON.stringify(want)}`);
  }
}

function checkSend(ctx, driver, req, want) {
  if (want.method) assert.equal(req.method, want.method, `${ctx}: method`);
  if (want.target) assert.equal(req.target, want.target, `${ctx}: target`);
  if (want.headers) assert.deepEqual(req.headers, want.headers, `${ctx}: headers`);
  if ('body' in want) assert.equal(req.body ?? null, want.body, `${ctx}: body`);
  if (want.raw) assert.equal(Buffer.from(driver.wire()).toString('utf8'), want.raw, `${ctx}: raw`);
  assert.ok(req.url.endsWith(req.target), `${ctx}: url`);
}

function bodyOf(resp) {
  if (typeof resp.body === 'string') return utf8.encode(resp.body);
  if (resp.body_file) return readFileSync(join(dir, resp.body_file));
  return new Uint8Array(0);
}

function feedRaw(driver, raw, chunk, now) {
  const id = driver.awaiting();
  assert.notEqual(id, undefined, 'a request is awaited');
  const size = chunk === 0 ? Math.max(raw.length, 1) : chunk;
  for (let i = 0; i < raw.length; i += size) {
    const step = driver.bytes(id, raw.subarray(i, i + size), now);
    if (step.k !== STEP.READ) return step;
  }
  const step = driver.bytes(id, new Uint8Array(0), now);
  assert.notEqual(step.k, STEP.READ, 'the reader wants more after end of stream');
  return step;
}

function runCase(c, chunk) {
  const driver = configFrom(c.config ?? {});
  let next = null;
  let justFailed = false;
  try {
    c.steps.forEach((step, i) => {
      const ctx = `${c.name} [chunk ${chunk}] step ${i}`;
      const now = step.at ?? 0;
      const outcome = () => {
        const n = next ?? driver.tick(now);
        next = null;
        return n;
      };
      if (step.start) {
        const op = step.start;
        const err = driver.start(op.op, now, op.id, op.expires_in, op.profile_id, op.profile_crn,
          op.profile_name, op.csr, op.path, op.all_pages ?? false, false);
        if (step.error) checkError(ctx, err, step.error);
        else assert.equal(err, undefined, `${ctx}: start failed: ${err?.message}`);
        justFailed = false;
        return;
      }
      const failedBefore = justFailed;
      justFailed = false;
      if (step.send) {
        const got = outcome();
        assert.equal(got.k, STEP.SEND, `${ctx}: expected send, got ${JSON.stringify(got.error ?? got)}`);
        checkSend(ctx, driver, got, step.send);
      } else if ('wait' in step) {
        const got = outcome();
        assert.equal(got.k, STEP.WAIT, `${ctx}: expected wait, got ${JSON.stringify(got)}`);
        assert.equal(got.until, step.wait, `${ctx}: wait until`);
      } else if (step.poll_failed) {
        const got = outcome();
        if (got.k === STEP.IDLE && failedBefore) return;
        assert.equal(got.k, STEP.FAILED, `${ctx}: expected failure, got ${JSON.stringify(got)}`);
        checkError(ctx, got.error, step.poll_failed);
      } else if (step.idle) {
        assert.equal(outcome().k, STEP.IDLE, `${ctx}: expected idle`);
      } else if (step.respond) {
        const r = step.respond;
        let got;
        if (typeof r.raw === 'string') {
          got = feedRaw(driver, utf8.encode(r.raw), chunk, now);
        } else {
          const id = driver.awaiting();
          assert.notEqual(id, undefined, `${ctx}: a request is awaited`);
          const retryAfter = r.retry_after === undefined ? undefined : String(r.retry_after);
          got = driver.respond(id, r.status, retryAfter, bodyOf(r), now);
        }
        checkEvent(ctx, got, step.expect);
        justFailed = got.k === STEP.FAILED;
        if (step.expect === 'pending') next = got;
      } else if (step.transport_error) {
        const id = driver.awaiting();
        assert.notEqual(id, undefined, `${ctx}: a request is awaited`);
        const got = driver.transportError(id, step.transport_error, now);
        checkEvent(ctx, got, step.expect);
        justFailed = got.k === STEP.FAILED;
        if (step.expect === 'pending') next = got;
      } else {
        assert.fail(`${ctx}: unknown step ${JSON.stringify(step)}`);
      }
    });
  } finally {
    driver.free();
  }
}

function runMerge(c) {
  const pages = c.merge.map((p) => utf8.encode(p));
  if (typeof c.expect === 'string') {
    assert.equal(new TextDecoder().decode(mergePages(pages)), c.expect, c.name);
  } else {
    assert.equal(c.expect.error, 'bad_response', `${c.name}: expectation`);
    assert.throws(() => mergePages(pages), (e) => e.code === 'bad_response', `${c.name}: merged a bad page`);
  }
}

let sessions = 0;
let merges = 0;
let runs = 0;
for (const file of files) {
  const doc = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(file, () => {
    for (const c of doc.cases) {
      if (c.merge) {
        runMerge(c);
        merges++;
        continue;
      }
      const raw = c.steps.some((s) => typeof s.respond?.raw === 'string');
      for (const chunk of raw ? [0, 1, 7] : [0]) {
        runCase(c, chunk);
        runs++;
      }
      sessions++;
    }
  });
}

test('vector count', () => {
  console.log(`vectors: ${sessions} session vectors (${runs} runs with chunkings) and ${merges} merge vectors passed through the wasm package`);
  assert.ok(sessions >= 100 && merges >= 5, `too few vectors: ${sessions} + ${merges}`);
});
