'use strict';
// VpcImdsAuthenticator inside a real ibm-cloud-sdk-core BaseService: the service's
// requests (to a local stand-in for an IBM API) carry IAM tokens that vpc-imds got
// from the emulator, cached across calls; side by side with the SDK's own
// VpcInstanceAuthenticator.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { BaseService, VpcInstanceAuthenticator } = require('ibm-cloud-sdk-core');
const { VpcImdsAuthenticator } = require('../lib/ibm.js');
const { Client, InvalidInputError } = require('../lib/index.js');
const { startEmulator } = require('./emulator.js');

/** A minimal IBM-style service: GET /v1/whoami with the authenticator's header. */
class WhoamiV1 extends BaseService {
  static DEFAULT_SERVICE_URL = 'http://127.0.0.1:1';
  async whoami() {
    const response = await this.createRequest({
      options: { url: '/v1/whoami', method: 'GET', qs: {} },
      defaultOptions: { ...this.baseOptions, headers: { Accept: 'application/json' } },
    });
    return response.result;
  }
}

let emu;
let api;
let apiUrl;
const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

before(async () => {
  emu = await startEmulator();
  api = http.createServer((req, res) => {
    const auth = req.headers.authorization || '';
    const m = /^Bearer (\S+)$/.exec(auth);
    res.setHeader('content-type', 'application/json');
    if (!m) {
      res.statusCode = 401;
      return res.end('{"errors":[{"code":"unauthorized","message":"no bearer token"}]}');
    }
    res.end(JSON.stringify({ sub: claims(m[1]).sub, path: req.url }));
  });
  await new Promise((r) => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${api.address().port}`;
});
after(() => {
  emu && emu.stop();
  api && api.close();
});
beforeEach(() => emu.ctl('POST', '/reset'));

describe('VpcImdsAuthenticator in a BaseService', () => {
  it('authenticates the service with the default profile, cached', async () => {
    const fixture = await emu.ctl('GET', '/faults'); // the emulator answers: it is up
    assert.ok(fixture);
    const service = new WhoamiV1({ authenticator: new VpcImdsAuthenticator({ url: emu.base }), serviceUrl: apiUrl });
    const first = await service.whoami();
    for (let i = 0; i < 4; i++) assert.deepEqual(await service.whoami(), first);
    assert.match(first.sub, /^Profile-/);
    const n = await emu.ctl('GET', '/counters');
    assert.equal(n.iam_token_exchanges, 1);
    assert.equal(n.token_creations, 1);
  });

  it('matches the SDK own VpcInstanceAuthenticator, for a profile by id, crn and name', async () => {
    const profiles = JSON.parse(require('node:child_process').execFileSync(process.env.EMULATOR_BIN || require('node:path').join(__dirname, '..', '..', '..', 'target', 'debug', 'vpc-imds-emulator'), ['--print-fixture'], { encoding: 'utf8' })).trusted_profiles;
    const p = profiles[1];
    for (const [ours, theirs] of [
      [{ iamProfileId: p.id }, { iamProfileId: p.id }],
      [{ iamProfileCrn: p.crn }, { iamProfileCrn: p.crn }],
      [{ iamProfileName: p.name }, { iamProfileName: p.name }],
      [{}, {}],
      // An empty field is an absent one, in the SDK's and in ours.
      [{ iamProfileId: p.id, iamProfileCrn: '', iamProfileName: '' }, { iamProfileId: p.id, iamProfileCrn: '' }],
    ]) {
      const a = await new WhoamiV1({ authenticator: new VpcImdsAuthenticator({ url: emu.base, ...ours }), serviceUrl: apiUrl }).whoami();
      const b = await new WhoamiV1({ authenticator: new VpcInstanceAuthenticator({ url: emu.base, ...theirs }), serviceUrl: apiUrl }).whoami();
      assert.equal(a.sub, b.sub, JSON.stringify(ours));
    }
  });

  it('50 concurrent service calls make one token and one IAM request', async () => {
    const client = new Client({ endpoint: emu.base });
    const service = new WhoamiV1({ authenticator: new VpcImdsAuthenticator({ client }), serviceUrl: apiUrl });
    const all = await Promise.all(Array.from({ length: 50 }, () => service.whoami()));
    assert.equal(new Set(all.map((r) => r.sub)).size, 1);
    const n = await emu.ctl('GET', '/counters');
    assert.equal(n.iam_token_exchanges, 1);
    assert.equal(n.token_creations, 1);
  });

  it('validates like the SDK and says it is a vpc authenticator', async () => {
    assert.throws(() => new VpcImdsAuthenticator({ url: emu.base, iamProfileId: 'a', iamProfileCrn: 'b' }), InvalidInputError);
    const auth = new VpcImdsAuthenticator({ url: emu.base });
    assert.equal(auth.authenticationType(), 'vpc');
    assert.equal(auth.authenticationType(), new VpcInstanceAuthenticator({ url: emu.base }).authenticationType());
    const token = await auth.token();
    assert.ok(!JSON.stringify(auth).includes(token.slice(0, 20)));
  });
});

describe("VpcImdsAuthenticator follows the SDK's conventions", () => {
  it('an empty url is the default, serviceVersion is the version, a client is given alone, the profile is read once', () => {
    const byDefault = new Client({ useEnv: false }).endpoint; // nothing is sent
    assert.equal(new VpcImdsAuthenticator({ url: '', useEnv: false }).client.endpoint, byDefault);
    assert.equal(new VpcImdsAuthenticator({ url: emu.base, serviceVersion: '2022-03-01' }).client.version, '2022-03-01');
    assert.throws(() => new VpcImdsAuthenticator({ url: emu.base, serviceVersion: 'bogus' }), InvalidInputError);
    assert.throws(() => new VpcImdsAuthenticator({ client: { instance() {} } }), InvalidInputError);
    assert.throws(() => new VpcImdsAuthenticator({ endpoint: emu.base }), InvalidInputError);
    assert.equal(new VpcImdsAuthenticator({ client: null, url: emu.base }).client.endpoint, emu.base);
    assert.throws(() => new VpcImdsAuthenticator({ url: emu.base, version: '2025-08-26', serviceVersion: '2022-03-01' }), InvalidInputError);
    const client = new Client({ endpoint: emu.base, useEnv: false });
    assert.equal(new VpcImdsAuthenticator({ client, serviceVersion: '', timeout: undefined }).client, client);
    assert.throws(() => new VpcImdsAuthenticator({ client, url: emu.base }), /alone/);
    const auth = new VpcImdsAuthenticator({ client, iamProfileId: 'Profile-1' });
    assert.throws(() => { 'use strict'; auth.iamProfileId = 'Profile-2'; }, TypeError);
    assert.equal(auth.iamProfileId, 'Profile-1');
  });
});
