// Every case of tests/vectors/*.json through a package's low-level Machine (the one
// every Client steps: the napi addon's in vpc-imds, the module's in vpc-imds-wasm), on the vectors' clock, with the machine
// semantics of bindings/python/tests/test_vectors.py: the step returned after a
// "pending" answer is the next vector step's; a failure is reported once and ends
// the operation; the machine leaves a request's deadline to the host, so at the
// deadline the runner reports response_timeout; the machine runs any number of
// operations at once; the machine mixes its seed before its first operation's
// driver gets it, so the runner passes the seed that mixes into the vector's. Raw
// responses are fed in chunkings 0 (all), 1 and 7 bytes, then an empty chunk (end
// of stream) if the machine still reads; merge cases go through mergePages, user-data
// cases through the public `UserData`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const dir = process.env.VPC_IMDS_VECTORS ?? fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));
let Machine, STEP, mergePages, UserData, NAME;
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const utf8 = new TextEncoder();

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
  const seed = new Uint8Array(8);
  new DataView(seed.buffer).setBigUint64(0, (z - 0x9e3779b97f4a7c15n) & MASK, true);
  return seed;
}

/** A vector's config key as the setting it names (times in ms there, seconds here). */
const SETTING = { operation_timeout_ms: 'timeout', buffer: 'max_response_bytes' };

function machineFor(c) {
  const settings = { max_response_bytes: 65536 };
  for (const [key, value] of Object.entries(c)) {
    if (key === 'seed') continue;
    const ms = key.endsWith('_ms');
    settings[SETTING[key] ?? (ms ? key.slice(0, -3) : key)] = ms ? value / 1000 : value;
  }
  return new Machine(settings, undefined, unmix(c.seed ?? 1));
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
  assert.equal(step.typeName, want.type, `${ctx}: output type`);
  if ('json' in want) assert.deepEqual(step.value, want.json, `${ctx}: raw document`);
  for (const [path, value] of Object.entries(want.fields ?? {})) {
    assert.deepEqual(lookup(step.value, path), value, `${ctx}: field ${path}`);
  }
}

function checkError(ctx, err, want) {
  assert.ok(err, `${ctx}: expected error ${JSON.stringify(want)}`);
  if (!(err instanceof Error)) {
    // A step's error record, as the client's errors name its fields.
    err = { ...err, errorCode: err.code, errorMessage: err.api_message, reason: err.cause, code: err.kind };
  }
  assert.ok(!JSON.stringify(err).includes('eyJ'), `${ctx}: error leaks a token`);
  assert.equal(err.code, want.kind, `${ctx}: kind (${err.message})`);
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
    assert.ok(got.kind === STEP.SEND || got.kind === STEP.BACKOFF, `${ctx}: expected pending, got ${JSON.stringify(got)}`);
  } else if (want.page) {
    assert.equal(got.kind, STEP.PAGE, `${ctx}: expected a page, got ${JSON.stringify(got)}`);
    checkOutput(ctx, got, want.page);
  } else if (want.done) {
    assert.equal(got.kind, STEP.DONE, `${ctx}: expected done, got ${JSON.stringify(got.error ?? got.kind)}`);
    checkOutput(ctx, got, want.done);
  } else if (want.failed) {
    assert.equal(got.kind, STEP.FAILED, `${ctx}: expected failure, got ${JSON.stringify(got)}`);
    checkError(ctx, got.error, want.failed);
  } else {
    assert.fail(`${ctx}: unknown expectation ${JSON.stringify(want)}`);
  }
}

function checkSend(ctx, req, want) {
  if (want.method) assert.equal(req.method, want.method, `${ctx}: method`);
  if (want.target) assert.equal(req.target, want.target, `${ctx}: target`);
  if (want.headers) assert.deepEqual(req.headers, want.headers, `${ctx}: headers`);
  if ('body' in want) assert.equal(req.body ?? null, want.body, `${ctx}: body`);
  if (want.raw) assert.equal(Buffer.from(req.wire).toString('utf8'), want.raw, `${ctx}: raw`);
  assert.ok(req.url.endsWith(req.target), `${ctx}: url`);
}

function bodyOf(resp) {
  if (typeof resp.body === 'string') return utf8.encode(resp.body);
  if (resp.body_file) return readFileSync(join(dir, resp.body_file));
  return new Uint8Array(0);
}

function feedRaw(m, op, raw, chunk, now) {
  const size = chunk === 0 ? Math.max(raw.length, 1) : chunk;
  for (let i = 0; i < raw.length; i += size) {
    const step = m.feed(op, raw.subarray(i, i + size), now);
    if (step.kind !== STEP.READ) return step;
  }
  const step = m.feed(op, new Uint8Array(0), now);
  assert.notEqual(step.kind, STEP.READ, 'the reader wants more after end of stream');
  return step;
}

function runCase(c, chunk) {
  const m = machineFor(c.config ?? {});
  let op = 0;
  let pending = null;
  let justFailed = false;
  let deadline = 0; // of the request in flight
  // The step after any connection closes (a socket host's matter); a send's bytes.
  const settle = (s, now) => {
    while (s.kind === STEP.CLOSE) s = m.step(op, now);
    if (s.kind === STEP.SEND) {
      s.wire = m.takeBytes();
      deadline = now + s.timeout;
    }
    return s;
  };
  try {
    c.steps.forEach((step, i) => {
      const ctx = `${c.name} [chunk ${chunk}] step ${i}`;
      const now = step.at ?? 0;
      const next = () => {
        let got = pending ?? settle(m.step(op, now), now);
        pending = null;
        if (got.kind === STEP.READ && now >= deadline) got = settle(m.fail(op, 'response_timeout', now), now);
        return got;
      };
      if (step.start) {
        justFailed = false;
        const { op: name, ...args } = step.start;
        const busy = c.name === MANY_AT_ONCE && m.operations > 0;
        let started;
        try {
          started = m.start(name, now, args);
        } catch (e) {
          started = e;
        }
        if (busy) assert.ok(typeof started === 'number' && started !== op, `${ctx}: a second operation runs`);
        else if (step.error) checkError(ctx, started instanceof Error ? started : undefined, step.error);
        else {
          assert.equal(typeof started, 'number', `${ctx}: start failed: ${started?.message}`);
          op = started;
        }
        return;
      }
      const failedBefore = justFailed;
      justFailed = false;
      if (step.send) {
        const got = next();
        assert.equal(got.kind, STEP.SEND, `${ctx}: expected send, got ${JSON.stringify(got.error ?? got)}`);
        checkSend(ctx, got, step.send);
      } else if ('wait' in step) {
        const got = next();
        if (got.kind === STEP.READ) {
          // The answer is awaited until the request deadline.
          assert.equal(step.wait, deadline, `${ctx}: expected wait, the request deadline is ${deadline}`);
          return;
        }
        assert.equal(got.kind, STEP.BACKOFF, `${ctx}: expected wait, got ${JSON.stringify(got)}`);
        assert.equal(got.until, step.wait, `${ctx}: wait until`);
      } else if (step.poll_failed) {
        if (failedBefore && m.operations === 0) return;
        const got = next();
        assert.equal(got.kind, STEP.FAILED, `${ctx}: expected failure, got ${JSON.stringify(got)}`);
        checkError(ctx, got.error, step.poll_failed);
      } else if (step.idle) {
        assert.ok(pending === null && m.operations === 0, `${ctx}: expected idle`);
      } else if (step.respond || step.transport_error) {
        const r = step.respond;
        let got;
        if (step.transport_error) got = m.fail(op, step.transport_error, now);
        else if (typeof r.raw === 'string') got = feedRaw(m, op, utf8.encode(r.raw), chunk, now);
        else got = m.respond(op, r.status, r.retry_after === undefined ? undefined : String(r.retry_after), bodyOf(r), now);
        got = settle(got, now);
        checkEvent(ctx, got, step.expect);
        justFailed = got.kind === STEP.FAILED;
        if (step.expect === 'pending') pending = got;
      } else {
        assert.fail(`${ctx}: unknown step ${JSON.stringify(step)}`);
      }
    });
  } finally {
    m.free();
  }
}

const b64 = (text) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
const toB64 = (bytes) => btoa(String.fromCharCode(...bytes));

function runUserData(c) {
  const data = UserData.from(b64(c.user_data));
  assert.equal(data.isMultipart(), c.expect.multipart, `${c.name}: isMultipart`);
  if (c.expect.error !== undefined) {
    assert.throws(() => data.parts(), (e) => e.code === 'bad_response' && e.message === c.expect.error, c.name);
    return;
  }
  const got = data.parts().map((p) => ({ content_type: p.contentType, filename: p.filename, charset: p.charset, payload: toB64(p.data) }));
  assert.deepEqual(got, c.expect.parts, c.name);
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

/** Runs every vector through `pkg` (the package's exports: Machine, STEP, mergePages, UserData). */
export function runVectors(pkg, name) {
  ({ Machine, STEP, mergePages, UserData } = pkg);
  NAME = name;
  let sessions = 0;
  let merges = 0;
  let userData = 0;
  let runs = 0;
  for (const file of files) {
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    test(file, () => {
      for (const c of doc.cases) {
        if (c.user_data !== undefined) {
          runUserData(c);
          userData++;
          continue;
        }
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
    console.log(`vectors: ${sessions} session vectors (${runs} runs with chunkings), ${merges} merge and ${userData} user-data vectors passed through the ${NAME} package`);
    assert.ok(sessions >= 100 && merges >= 5 && userData >= 10, `too few vectors: ${sessions} + ${merges} + ${userData}`);
  });
}
