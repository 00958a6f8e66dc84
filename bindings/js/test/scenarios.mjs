// The cross-host scenarios (tests/scenarios/scenarios.json, schema in its README)
// through a package's public API (`Client`: vpc-imds over node:net, vpc-imds-wasm
// over Node's fetch), each against its own emulator process on 127.0.0.1. Both
// packages' test/scenarios.test.mjs call `runScenarios` with their names.
//
// Every scenario must give the table's normalized outcome, except those in KNOWN:
// where this host differs today, the outcome must still differ (a strict expected
// failure), so the entry has to go when the host is fixed.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';

let imds, HOST, BIN, startEmulator, closedPort, KNOWN;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const TABLE = process.env.VPC_IMDS_SCENARIOS || path.join(root, 'tests', 'scenarios', 'scenarios.json');
const { scenarios } = JSON.parse(fs.readFileSync(TABLE, 'utf8'));

class SetupError extends Error {}

/** The built-in fixture with the patches applied (`value` sets a JSON value, `raw` puts JSON text in place). */
function patchedFixture(patches) {
  const fixture = JSON.parse(execFileSync(BIN, ['--print-fixture'], { encoding: 'utf8' }));
  const raws = [];
  for (const patch of patches) {
    let value = patch.value;
    if ('raw' in patch) {
      raws.push(patch.raw);
      value = `@@raw${raws.length - 1}@@`;
    }
    let place = fixture;
    for (const step of patch.path.slice(0, -1)) place = place[step];
    place[patch.path[patch.path.length - 1]] = value;
  }
  let text = JSON.stringify(fixture);
  raws.forEach((raw, i) => {
    text = text.replace(`"@@raw${i}@@"`, raw);
  });
  return text;
}

async function start(setup, tmp) {
  const args = ['--workers', '1'];
  if (setup.fixture) {
    const file = path.join(tmp, 'fixture.json');
    fs.writeFileSync(file, patchedFixture(setup.fixture));
    args.push('--fixture', file);
  }
  if (setup.head_timeout_ms !== undefined) args.push('--head-timeout-ms', String(setup.head_timeout_ms));
  try {
    return await startEmulator(args);
  } catch (e) {
    throw new SetupError(String(e.message || e));
  }
}

async function control(emu, call) {
  return emu.ctl(call.method, call.path, call.body);
}

/** The length of a metadata document's body as the emulator serves it. */
async function bodyLen(emu, p) {
  const q = '?version=2025-08-26';
  const t = await fetch(`${emu.base}/identity/v1/token${q}`, { method: 'PUT', headers: { 'Metadata-Flavor': 'ibm' } });
  const token = (await t.json()).access_token;
  const r = await fetch(emu.base + p + q, { headers: { Authorization: `Bearer ${token}` } });
  const n = (await r.arrayBuffer()).byteLength;
  await emu.ctl('POST', '/reset');
  return n;
}

async function makeClient(emu, settings) {
  let endpoint = emu.base;
  if (settings.endpoint === 'refused') endpoint = `http://127.0.0.1:${await closedPort()}`;
  if (settings.endpoint === 'tls_to_plain') endpoint = emu.base.replace('http://', 'https://'); // the emulator does not speak TLS
  const options = { endpoint, useEnv: false };
  if (settings.timeout_ms !== undefined) options.timeout = settings.timeout_ms / 1000;
  if (settings.request_timeout_ms !== undefined) options.requestTimeout = settings.request_timeout_ms / 1000;
  if (settings.connect_timeout_ms !== undefined) options.connectTimeout = settings.connect_timeout_ms / 1000;
  if (settings.max_attempts !== undefined) options.maxAttempts = settings.max_attempts;
  if (settings.version !== undefined) options.version = settings.version;
  if (settings.token_lifetime !== undefined) options.tokenLifetime = settings.token_lifetime;
  const limit = settings.max_response_bytes;
  if (limit !== undefined && typeof limit === 'object') {
    options.maxResponseBytes = (await bodyLen(emu, limit.body_of)) + (limit.plus || 0);
  } else if (limit !== undefined) {
    options.maxResponseBytes = limit;
  }
  return new imds.Client(options);
}

function documentOf(doc) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { 'not a JSON object': String(doc) };
  const out = {};
  for (const [k, v] of Object.entries(doc)) if (Array.isArray(v)) out[k] = v.length;
  out.next = 'next' in doc;
  return out;
}

/** A call's keys that are the runner's, not the operation's arguments. */
const RUNNER = new Set(['op', 'id_utf16', 'max_ms', 'concurrent', 'pause_ms']);

/** Every argument of a call, camelCased as the client's options name them (`id`,
 * `path` and `max` go first where the method takes them so). */
function argsOf(step) {
  const args = {};
  for (const [key, value] of Object.entries(step)) {
    if (!RUNNER.has(key)) args[key.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = value;
  }
  if (step.id_utf16) args.id = String.fromCharCode(...step.id_utf16);
  if (step.max_ms !== undefined) args.max = step.max_ms / 1000;
  return args;
}

/** A JWT's claims (its payload, base64url JSON). */
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

async function count(iterator) {
  let n = 0;
  for await (const _ of iterator) n += 1;
  return n;
}

async function one(c, step) {
  const a = argsOf(step);
  switch (step.op) {
    case 'instance':
      return { id: (await c.instance(a)).id };
    case 'initialization': {
      const init = await c.initialization(a);
      return { keys: (init.keys || []).length, default_trusted_profile: init.default_trusted_profile?.target?.id ?? null };
    }
    case 'identity_token': {
      const t = await c.identityToken(a);
      if (step.nonce === undefined) return { expires_in: t.expiresIn };
      return { expires_in: t.expiresIn, nonce: t.nonce, nonce_claim: claims(t.accessToken).nonce ?? null };
    }
    case 'iam_token':
      return { expires_in: (await c.iamToken(a)).expiresIn };
    case 'key':
      return { id: (await c.key(a.id, a)).id };
    case 'network_interface':
      return { id: (await c.networkInterface(a.id, a)).id };
    case 'volume_attachment':
      return { id: (await c.volumeAttachment(a.id, a)).id };
    case 'placement_group':
      return { id: (await c.placementGroup(a.id, a)).id };
    case 'keys':
      return { count: await count(c.keys(a)) };
    case 'placement_groups':
      return { count: await count(c.placementGroups(a)) };
    case 'network_interfaces':
      return { count: (await c.networkInterfaces(a)).length };
    case 'volume_attachments':
      return { count: (await c.volumeAttachments(a)).length };
    case 'ssh_keys':
      return await c.sshKeys(a);
    case 'user_data':
      return { base64: Buffer.from(await c.userData(a)).toString('base64') };
    case 'get':
      return documentOf(await c.get(a.path, a));
    case 'get_all':
      return documentOf(await c.getAll(a.path, a));
    case 'wait_until_ready':
      await c.waitUntilReady(a.max, a);
      return null;
    default:
      return { 'unsupported op': step.op };
  }
}

function record(e) {
  if (e instanceof imds.ImdsError) return { kind: e.code, status: e.status, code: e.errorCode || null, cause: e.reason, message: e.message };
  return { exception: `${e && e.name}: ${e && e.message}` };
}

/** The error record as the table states one: its message only as far as the table's
 * `message_prefix`, when it has one. */
function asStated(got, want) {
  const { message = '', ...rest } = got;
  if ('message_prefix' in want) rest.message_prefix = message.startsWith(want.message_prefix) ? want.message_prefix : message;
  return rest;
}

class Failed extends Error {
  constructor(rec) {
    super('failed');
    this.record = rec;
  }
}

async function call(c, step) {
  if (step.pause_ms) await new Promise((r) => setTimeout(r, step.pause_ms));
  const once = async () => {
    try {
      return await one(c, step);
    } catch (e) {
      throw new Failed(record(e));
    }
  };
  const n = step.concurrent || 1;
  if (n === 1) return once();
  const results = await Promise.allSettled(Array.from({ length: n }, once));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const values = results.map((r) => r.value);
  if (values.some((v) => !isDeepStrictEqual(v, values[0]))) return { 'concurrent results differ': values };
  return values[0];
}

function subset(at, want, got, diffs) {
  for (const [key, value] of Object.entries(want)) {
    const have = got && typeof got === 'object' && key in got ? got[key] : 0;
    if (value !== null && typeof value === 'object') subset(`${at}.${key}`, value, have, diffs);
    else if (have !== value) diffs.push(`${at}.${key}: expected ${value}, got ${have}`);
  }
}

/** Sets the scenario up, runs it, and lists how the outcome differs from the table. */
async function run(scenario) {
  const setup = scenario.emulator || {};
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-imds-scenario-'));
  let emu;
  try {
    emu = await start(setup, tmp);
    for (const c of setup.control || []) await control(emu, c);
    const c = await makeClient(emu, scenario.client || {});
    const started = performance.now();
    let outcome;
    try {
      if (Array.isArray(scenario.call)) {
        const values = [];
        for (const step of scenario.call) {
          if (step.control) await control(emu, step.control);
          else values.push(await call(c, step));
        }
        outcome = { value: values };
      } else {
        outcome = { value: await call(c, scenario.call) };
      }
    } catch (e) {
      if (!(e instanceof Failed)) throw e;
      outcome = { error: e.record };
    }
    const elapsed = performance.now() - started;
    c.close();
    const expect = scenario.expect;
    const diffs = [];
    if ('value' in expect) {
      if (!('value' in outcome) || !matches(expect.value, outcome.value)) {
        diffs.push(`expected value ${JSON.stringify(expect.value)}, got ${JSON.stringify(outcome)}`);
      }
    } else if (!('error' in outcome) || !isDeepStrictEqual(asStated(outcome.error, expect.error), expect.error)) {
      diffs.push(`expected error ${JSON.stringify(expect.error)}, got ${JSON.stringify(outcome)}`);
    }
    const limits = expect.elapsed_ms || {};
    if (elapsed < (limits.min ?? 0) || elapsed > (limits.max ?? Infinity)) {
      diffs.push(`took ${Math.round(elapsed)} ms, expected ${JSON.stringify(limits)}`);
    }
    if (expect.requests) subset('requests', expect.requests, await emu.ctl('GET', '/counters'), diffs);
    return diffs;
  } finally {
    if (emu) await emu.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Runs every scenario through `pkg` as host `host`: `emulator` is `{ bin, start(args)
 * -> { base, ctl(method, path, body), stop() }, closedPort() }`; `known` maps a
 * scenario to why this host differs today.
 */
export function runScenarios(pkg, host, emulator, known = {}) {
  imds = pkg;
  HOST = host;
  ({ bin: BIN, start: startEmulator, closedPort } = emulator);
  KNOWN = known;
  describe('cross-host scenarios (tests/scenarios/scenarios.json)', () => {
    it('the table and KNOWN agree', () => {
      const names = scenarios.map((s) => s.name);
      assert.equal(new Set(names).size, names.length, 'scenario names are unique');
      for (const name of Object.keys(KNOWN)) assert.ok(names.includes(name), `KNOWN names an unknown scenario ${name}`);
    });

    for (const scenario of scenarios) {
      const why = scenario.not_applicable && scenario.not_applicable[HOST];
      if (why) {
        it(scenario.name, { skip: `not applicable to ${HOST}: ${why}` }, () => {});
        continue;
      }
      it(scenario.name, async (t) => {
        let diffs;
        try {
          diffs = await run(scenario);
        } catch (e) {
          if (!(e instanceof SetupError)) throw e;
          diffs = [`setup failed: ${e.message}`];
        }
        const known = KNOWN[scenario.name];
        if (known) {
          assert.ok(diffs.length > 0, `${scenario.name} is listed in KNOWN (${known}) but now passes: remove the entry`);
          t.diagnostic(`known divergence: ${known} [differs: ${diffs.join('; ')}]`);
        } else {
          assert.deepEqual(diffs, []);
        }
      });
    }
  });
}

// Equal, except that {min, max} matches any number in that range.
function matches(want, got) {
  if (want && typeof want === 'object' && !Array.isArray(want)) {
    const keys = Object.keys(want);
    if (keys.length > 0 && keys.every((k) => k === 'min' || k === 'max')) {
      return typeof got === 'number' && (want.min === undefined || got >= want.min) && (want.max === undefined || got <= want.max);
    }
    if (!got || typeof got !== 'object' || Array.isArray(got)) return false;
    const gkeys = Object.keys(got);
    return gkeys.length === keys.length && keys.every((k) => k in got && matches(want[k], got[k]));
  }
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => matches(w, got[i]));
  return isDeepStrictEqual(want, got);
}
