'use strict';
// The client against vpc-imds-emulator: every operation, and the fault scenarios
// (503s, 429 + Retry-After, dropped connection, black hole, refused, expired
// token, proxy variables, invalid input, single flight, abort), over the built-in
// socket transport, the fetch transport and TLS.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const fs = require('node:fs');
const imds = require('../lib/index.js');
const { startEmulator, closedPort } = require('./emulator.js');

const { Client, IamTokenCache, fetchTransport, userData } = imds;
let emu;

before(async () => {
  emu = await startEmulator();
});
after(() => emu && emu.stop());
beforeEach(async () => {
  await emu.ctl('POST', '/reset');
});

const counters = () => emu.ctl('GET', '/counters');
const requests = () => emu.ctl('GET', '/requests');
const fixture = JSON.parse(require('node:child_process').execFileSync(process.env.EMULATOR_BIN || require('node:path').join(__dirname, '..', '..', '..', 'target', 'debug', 'vpc-imds-emulator'), ['--print-fixture'], { encoding: 'utf8' }));

function client(options = {}) {
  return new Client({ endpoint: emu.base, ...options });
}

for (const [name, make] of [
  ['socket transport', (o) => client(o)],
  ['fetch transport', (o) => client({ transport: fetchTransport(), ...o })],
]) {
  describe(`operations (${name})`, () => {
    it('instance, initialization, network interfaces, volume attachments', async () => {
      const c = make();
      const inst = await c.instance();
      assert.equal(inst.id, fixture.instance.id);
      assert.equal(inst.name, fixture.instance.name);
      const init = await c.initialization();
      assert.ok(Array.isArray(init.keys));
      const nics = await c.networkInterfaces();
      assert.equal(nics.length, fixture.network_interfaces.length);
      const nic = await c.networkInterface(nics[1].id);
      assert.equal(nic.id, nics[1].id);
      const vols = await c.volumeAttachments();
      assert.equal(vols.length, fixture.volume_attachments.length);
      assert.equal((await c.volumeAttachment(vols[0].id)).id, vols[0].id);
      c.close();
    });

    it('keys and placement groups are async iterators over every page', async () => {
      const c = make();
      const names = [];
      for await (const k of c.keys()) names.push(k.name);
      assert.deepEqual(names, fixture.keys.map((k) => k.name));
      assert.equal((await c.key(fixture.keys[1].id)).name, fixture.keys[1].name);
      const groups = [];
      for await (const g of c.placementGroups()) groups.push(g.id);
      assert.deepEqual(groups, fixture.placement_groups.map((g) => g.id));
      assert.equal((await c.placementGroup(groups[2])).id, groups[2]);
      const lines = await c.sshKeys();
      assert.equal(lines.length, fixture.keys.length);
      for (const line of lines) assert.match(line, /^ssh-(rsa|ed25519) \S+/);
    });

    it('generic get, pages (limit=1) and getAll merge', async () => {
      const c = make();
      assert.equal((await c.get('instance')).id, fixture.instance.id);
      const pages = [];
      for await (const p of c.getPages('keys?limit=1')) pages.push(p);
      assert.equal(pages.length, fixture.keys.length);
      assert.ok(pages[0].next && !pages.at(-1).next);
      const all = await c.getAll('keys?limit=1');
      assert.deepEqual(all.keys.map((k) => k.id), fixture.keys.map((k) => k.id));
      assert.equal(all.next, undefined);
      // Breaking out of an iterator ends the call and frees its driver.
      for await (const k of c.keys()) {
        assert.ok(k.id);
        break;
      }
      assert.equal((await c.instance()).id, fixture.instance.id);
    });

    it('tokens: identity, IAM by default/id/crn/name, never shown', async () => {
      const c = make();
      const t = await c.identityToken({ expiresIn: 60 });
      assert.equal(t.expiresIn, 60);
      assert.match(t.accessToken, /^eyJ/);
      for (const shown of [util.inspect(t), JSON.stringify(t), String(t), util.inspect({ t }, { depth: 5, showHidden: true })]) {
        assert.ok(!shown.includes(t.accessToken.slice(0, 20)), `token shown: ${shown}`);
      }
      const profiles = fixture.trusted_profiles;
      const sub = (tok) => JSON.parse(Buffer.from(tok.accessToken.split('.')[1], 'base64url')).sub;
      const linked = profiles.find((p) => p.linked !== false && p.id !== fixture.initialization.default_trusted_profile?.target?.id) || profiles[1];
      assert.ok((await c.iamToken()).accessToken);
      assert.equal(sub(await c.iamToken({ profileId: linked.id })), linked.id);
      assert.equal(sub(await c.iamToken({ profileCrn: linked.crn })), linked.id);
      assert.equal(sub(await c.iamToken({ profileName: linked.name })), linked.id);
      const unlinked = profiles.find((p) => p.linked === false);
      await assert.rejects(c.iamToken({ profileId: unlinked.id }), (e) => e instanceof imds.RejectedError && e.errorCode === 'profile_not_linked' && e.status === 400);
      await assert.rejects(c.iamToken({ profileId: 'a', profileName: 'b' }), imds.InvalidInputError);
    });

    it('user data is a UserData (Uint8Array) with MIME helpers', async () => {
      const c = make();
      const data = await c.userData();
      assert.ok(data instanceof imds.UserData && data instanceof Uint8Array);
      assert.equal(data.toString('base64'), Buffer.from(data).toString('base64'));
      assert.equal(userData.isGzip(data), false);
      assert.equal(userData.isMultipart(data), true);
      const parts = userData.parts(data);
      assert.ok(parts.length >= 2);
      assert.ok(parts.every((p) => p.data instanceof Uint8Array && p.contentType));
      assert.ok(userData.text(data).includes('Grüße, 世界'));
    });

    it('503s are retried', async () => {
      await emu.ctl('POST', '/faults/fail', { status: 503, count: 2, route_prefix: '/metadata/' });
      const c = make();
      assert.equal((await c.instance()).id, fixture.instance.id);
      const n = await counters();
      assert.equal(n.by_status['503'], 2);
    });

    it('429 + Retry-After waits as asked; exhausted attempts report retryAfter', async () => {
      await emu.ctl('POST', '/faults/fail', { status: 429, count: 1, retry_after: 1, route_prefix: '/metadata/' });
      const c = make();
      const t0 = performance.now();
      await c.instance();
      assert.ok(performance.now() - t0 >= 950, 'waited for Retry-After');
      await emu.ctl('POST', '/faults/fail', { status: 429, count: 1, retry_after: 7, route_prefix: '/metadata/' });
      const once = make({ maxAttempts: 1 });
      await assert.rejects(once.instance(), (e) => e instanceof imds.RateLimitedError && e.code === 'rate_limited' && e.retryAfter === 7 && e.status === 429);
    });

    it('an expired token: 401, one refresh, one retry', async () => {
      const c = make();
      await c.instance();
      await emu.ctl('POST', '/tokens/expire');
      await c.instance();
      const n = await counters();
      assert.equal(n.token_creations, 2);
      assert.equal(n.unauthenticated, 1);
    });

    it('50 concurrent calls make one token request', async () => {
      const c = make();
      const all = await Promise.all(Array.from({ length: 50 }, () => c.instance()));
      assert.equal(all.length, 50);
      const n = await counters();
      assert.equal(n.token_creations, 1);
      assert.equal(n.metadata_gets, 50);
    });

    it('20 concurrent calls of every kind on a new client make exactly 1 identity token request', async () => {
      const c = make();
      const calls = [() => c.instance(), () => c.sshKeys(), () => c.userData(), () => c.getAll('keys?limit=1'), () => c.iamToken()];
      await Promise.all(Array.from({ length: 20 }, (_, i) => calls[i % calls.length]()));
      const n = await counters();
      assert.equal(n.token_creations, 1);
      assert.equal(n.iam_token_exchanges, 1);
    });

    it('a second iamToken() for a profile sends nothing; another profile exchanges once', async () => {
      const c = make();
      const linked = fixture.trusted_profiles.find((p) => p.linked !== false && p.id !== fixture.initialization.default_trusted_profile?.target?.id);
      const first = await c.iamToken({ profileName: linked.name });
      const before = (await counters()).requests;
      const again = await c.iamToken({ profileName: linked.name });
      assert.equal(again.accessToken, first.accessToken);
      assert.equal((await counters()).requests, before);
      await c.iamToken();
      const n = await counters();
      assert.equal(n.requests, before + 1);
      assert.equal(n.iam_token_exchanges, 2);
    });

    it('a call aborted while it waits for the shared token leaves the others be', async () => {
      await emu.ctl('PUT', '/faults/latency', { ms: 300 });
      const c = make();
      const ac = new AbortController();
      const calls = [c.instance(), c.instance({ signal: ac.signal }), c.instance()];
      setTimeout(() => ac.abort(), 50);
      const [a, b, d] = await Promise.allSettled(calls).finally(() => emu.ctl('DELETE', '/faults'));
      assert.equal(b.status, 'rejected');
      assert.equal(b.reason.name, 'AbortError');
      assert.equal(a.value.id, fixture.instance.id);
      assert.equal(d.value.id, fixture.instance.id);
      assert.equal((await counters()).token_creations, 1);
    });

    it('invalid input sends nothing', async () => {
      const c = make();
      for (const bad of ['a/b', 'a\r\nHost: evil', '', '..', 'a?b']) {
        await assert.rejects(c.key(bad), (e) => e instanceof imds.InvalidInputError && e.code === 'invalid_input');
      }
      await assert.rejects(c.identityToken({ expiresIn: 1 }), imds.InvalidInputError);
      await assert.rejects(c.get('instance?version=1'), imds.InvalidInputError);
      assert.deepEqual(await requests(), []);
    });

    it('a lone surrogate is invalid input, in ids, paths and profiles alike; nothing sent', async () => {
      const c = make();
      const invalid = (e) => e instanceof imds.InvalidInputError && e.code === 'invalid_input' && e.reason === 'input';
      await assert.rejects(c.key('r006-\ud800'), invalid);
      await assert.rejects(c.get('instance\udc00'), invalid);
      for (const bad of ['\ud800', '\udc00x', 'a\ud800\ud800b']) {
        for (const profile of [{ profileId: bad }, { profileName: bad }, { profileCrn: bad }]) {
          await assert.rejects(c.iamToken(profile), invalid, JSON.stringify(profile));
          // Refused when the cache is made, as Python's is.
          assert.throws(() => new IamTokenCache(c, profile), invalid, JSON.stringify(profile));
        }
      }
      assert.deepEqual(await requests(), []);
      // A surrogate pair is a character like any other: sent, and the service judges it.
      await assert.rejects(c.iamToken({ profileName: 'p-\ud83d\ude00' }), (e) => !(e instanceof imds.InvalidInputError));
      assert.ok((await requests()).length > 0);
    });

    it('not found is a NotFoundError with IBM details', async () => {
      const c = make();
      await assert.rejects(c.key('missing'), (e) => {
        assert.ok(e instanceof imds.NotFoundError && e instanceof imds.ImdsError && e instanceof Error);
        assert.equal(e.code, 'not_found');
        assert.equal(e.status, 404);
        assert.equal(e.errorCode, 'not_found');
        assert.match(e.trace, /^[0-9a-f-]{36}$/);
        assert.equal(e.target, 'id');
        return true;
      });
    });
  });
}

describe('transport faults (socket transport)', () => {
  it('a dropped connection is retried', async () => {
    await emu.ctl('POST', '/faults/drop', { stage: 'mid_body', count: 1, route_prefix: '/metadata/' });
    const c = client();
    assert.equal((await c.instance()).id, fixture.instance.id);
    await emu.ctl('POST', '/faults/drop', { stage: 'mid_headers', count: 4, route_prefix: '/metadata/' });
    await assert.rejects(client({ maxAttempts: 4 }).instance(), (e) => e instanceof imds.ConnectionLostError);
  });

  it('a black hole ends at the deadline', async () => {
    await emu.ctl('POST', '/faults/black_hole', { route_prefix: '/metadata/' });
    const c = client({ timeout: 0.6 });
    const t0 = performance.now();
    await assert.rejects(c.instance(), (e) => e instanceof imds.TimedOutError && e.code === 'timed_out');
    const took = performance.now() - t0;
    assert.ok(took >= 550 && took < 2000, `took ${took} ms`);
  });

  it('a refused connection is a RefusedError, quickly', async () => {
    const port = await closedPort();
    const t0 = performance.now();
    await assert.rejects(new Client({ endpoint: `http://127.0.0.1:${port}` }).instance(), (e) => e instanceof imds.RefusedError && e.transport === 'refused');
    assert.ok(performance.now() - t0 < 1000);
    await assert.rejects(new Client({ endpoint: `http://127.0.0.1:${port}`, transport: fetchTransport() }).instance(), imds.RefusedError);
  });

  it('proxy variables are ignored', async () => {
    const port = await closedPort();
    const saved = { ...process.env };
    for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']) process.env[k] = `http://127.0.0.1:${port}`;
    process.env.NO_PROXY = process.env.no_proxy = '';
    try {
      assert.equal((await client().instance()).id, fixture.instance.id);
      assert.equal((await client({ transport: fetchTransport() }).instance()).id, fixture.instance.id);
    } finally {
      for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('VPC_IMDS_ENDPOINT is the default endpoint; useEnv: false ignores it', async () => {
    process.env.VPC_IMDS_ENDPOINT = emu.base;
    try {
      const c = new Client();
      assert.equal(c.endpoint, emu.base);
      assert.equal((await c.instance()).id, fixture.instance.id);
      assert.equal(new Client({ useEnv: false }).endpoint, 'http://169.254.169.254');
    } finally {
      delete process.env.VPC_IMDS_ENDPOINT;
    }
  });

  it('an AbortSignal ends a call at once; the client stays usable', async () => {
    await emu.ctl('POST', '/faults/black_hole', { count: 1, route_prefix: '/metadata/' });
    const c = client();
    const t0 = performance.now();
    await assert.rejects(c.instance({ signal: AbortSignal.timeout(150) }), (e) => e.name === 'TimeoutError');
    assert.ok(performance.now() - t0 < 1000);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(c.instance({ signal: ac.signal }), (e) => e.name === 'AbortError');
    assert.equal((await c.instance()).id, fixture.instance.id);
  });

  it('callbacks on one signal run as separate listeners would: in order, none removed, none stopped by a throw', () => {
    const script = `
      const { onAbort } = require(${JSON.stringify(require.resolve('../lib/abort.js'))});
      const seen = [];
      process.on('uncaughtException', (e) => { seen.push('reported ' + e.message); console.log(seen.join(',')); });
      const ac = new AbortController();
      onAbort(ac.signal, () => { seen.push('a'); offB(); });
      const offB = onAbort(ac.signal, () => seen.push('b'));
      onAbort(ac.signal, () => { throw new Error('boom'); });
      onAbort(ac.signal, () => seen.push('d'));
      const offE = onAbort(ac.signal, () => seen.push('e'));
      offE();
      offE();
      ac.abort();`;
    const out = require('node:child_process').execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(out.trim(), 'a,d,reported boom');
  });

  it('one signal shared by 20 concurrent calls: one listener on it, no warning, all end on abort', async () => {
    const { getEventListeners } = require('node:events');
    const warnings = [];
    const warned = (w) => warnings.push(w);
    process.on('warning', warned);
    try {
      for (const c of [client(), client({ transport: fetchTransport() })]) {
        await c.instance(); // the token, cached
        await emu.ctl('PUT', '/faults/latency', { ms: 2000 });
        const ac = new AbortController();
        const calls = Array.from({ length: 20 }, () => c.instance({ signal: ac.signal }));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(getEventListeners(ac.signal, 'abort').length, 1, 'one listener for every call');
        const t0 = performance.now();
        ac.abort();
        const settled = await Promise.allSettled(calls);
        assert.ok(settled.every((o) => o.status === 'rejected' && o.reason.name === 'AbortError'));
        assert.ok(performance.now() - t0 < 1000, 'ended at once');
        assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
        await emu.ctl('DELETE', '/faults');
        // A signal no call aborted keeps no listener once the calls are over.
        const kept = new AbortController();
        await Promise.all(Array.from({ length: 12 }, () => c.instance({ signal: kept.signal })));
        assert.equal(getEventListeners(kept.signal, 'abort').length, 0);
      }
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String), []);
    } finally {
      process.off('warning', warned);
      await emu.ctl('DELETE', '/faults');
    }
  });

  it('a call with an already-aborted signal opens no connection', async () => {
    const net = require('node:net');
    let connections = 0;
    const server = net.createServer((s) => {
      connections += 1;
      s.destroy();
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `http://127.0.0.1:${server.address().port}`;
      for (const c of [new Client({ endpoint }), new Client({ endpoint, transport: fetchTransport() })]) {
        const signal = AbortSignal.abort();
        const aborted = (e) => e.name === 'AbortError';
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
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(connections, 0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a signal aborted between pages ends the iteration, with either transport', async () => {
    for (const transport of [undefined, fetchTransport()]) {
      await emu.ctl('DELETE', '/counters');
      const c = transport ? client({ transport }) : client();
      const ac = new AbortController();
      const pages = [];
      await assert.rejects(
        (async () => {
          for await (const page of c.getPages('keys?limit=1', { signal: ac.signal })) {
            pages.push(page);
            ac.abort(new Error('enough'));
          }
        })(),
        /enough/,
      );
      assert.equal(pages.length, 1);
      assert.equal((await counters()).by_route['GET /metadata/v1/keys'], 1, transport ? 'fetch' : 'sockets');
    }
  });

  it('kept-alive connections carry sequential calls', async () => {
    const c = client();
    for (let i = 0; i < 5; i++) await c.instance();
    const n = await counters();
    assert.equal(n.token_creations, 1);
    assert.equal(n.metadata_gets, 5);
  });

  it('bad settings are InvalidInputErrors naming the setting', () => {
    assert.throws(() => new Client({ timeout: -1 }), (e) => e instanceof imds.InvalidInputError && /timeout/.test(e.message));
    assert.throws(() => new Client({ endpoint: 'ftp://x' }), imds.InvalidInputError);
    assert.throws(() => new Client({ maxAttempts: 0 }), imds.InvalidInputError);
    assert.throws(() => new Client({ timeout: '5' }), imds.InvalidInputError);
    assert.equal(new Client({ secure: true, useEnv: false }).endpoint, 'https://api.metadata.cloud.ibm.com');
  });

  it('tokens stay out of errors and inspect output', async () => {
    const c = client();
    const t = await c.identityToken();
    await emu.ctl('POST', '/tokens/expire');
    await emu.ctl('POST', '/faults/fail', { status: 401, count: 10, route_prefix: '/metadata/' });
    const err = await c.instance().catch((e) => e);
    assert.ok(err instanceof imds.ImdsError);
    for (const shown of [err.message, err.stack, util.inspect(err), JSON.stringify(err), util.inspect(c)]) {
      assert.ok(!shown.includes('eyJ'), shown);
      assert.ok(!shown.includes(t.accessToken.slice(-16)), shown);
    }
  });

  it('IamTokenCache: 20 concurrent calls, one exchange; cached afterwards', async () => {
    const c = client();
    const cache = new IamTokenCache(c);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => cache.token()));
    assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
    await cache.token();
    const n = await counters();
    assert.equal(n.iam_token_exchanges, 1);
    assert.equal(n.token_creations, 1);
  });

  it('waitUntilReady waits for a refusing service to come up', async () => {
    await emu.ctl('POST', '/faults/fail', { status: 503, count: 3, route_prefix: '/identity/' });
    await client().waitUntilReady(10);
    assert.equal((await counters()).faults_injected, 3);
    const port = await closedPort();
    await assert.rejects(new Client({ endpoint: `http://127.0.0.1:${port}` }).waitUntilReady(0.3), imds.TimedOutError);
  });

  it('identity certificate for a real CSR (openssl), chain with the instance id', async (t) => {
    let csr;
    try {
      csr = require('node:child_process').execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/C=US/O=vpc-imds test', '-keyout', '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // Node cannot write a CSR itself; without the openssl tool there is none to send.
      t.skip('no openssl command to create a certificate request');
      return;
    }
    const cert = await client().identityCertificate(csr, { expiresIn: 600 });
    assert.ok(cert.certificates.length >= 2, 'leaf and intermediate');
    assert.match(cert.certificates[0], /-----BEGIN CERTIFICATE-----/);
    assert.equal(cert.expires_in, 600);
    const leaf = new (require('node:crypto').X509Certificate)(cert.certificates[0]);
    assert.match(leaf.subject, new RegExp(fixture.instance.id));
  });

  it('identity certificate: a bad CSR is rejected by the service', async () => {
    await assert.rejects(client().identityCertificate('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'), (e) => e instanceof imds.RejectedError && e.status === 400);
  });
});

describe('TLS', () => {
  let tls;
  before(async () => {
    tls = await startEmulator(['--tls']);
  });
  after(() => tls && tls.stop());

  it('https with the emulator certificate as CA', async () => {
    const c = new Client({ endpoint: tls.base, ca: fs.readFileSync(tls.certFile) });
    assert.ok(c.endpoint.startsWith('https://'));
    assert.equal((await c.instance()).id, fixture.instance.id);
    assert.equal((await c.instance()).id, fixture.instance.id);
  });

  it('secure: true upgrades http:// to https://', async () => {
    const c = new Client({ endpoint: tls.base.replace('https:', 'http:'), secure: true, ca: fs.readFileSync(tls.certFile) });
    assert.equal((await c.instance()).id, fixture.instance.id);
  });

  it('an untrusted certificate is refused as tls', async () => {
    await assert.rejects(new Client({ endpoint: tls.base }).instance(), (e) => e instanceof imds.RefusedError && e.transport === 'tls');
  });
});
