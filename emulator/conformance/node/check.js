// Drive node-sdk-core's VpcInstanceAuthenticator against vpc-imds-emulator.
// Usage: node check.js BASE_URL CONTROL_URL [TLS_BASE_URL]
// (for the TLS case, start node with NODE_EXTRA_CA_CERTS=<emulator cert>).
// Prints one PASS/FAIL line per case; exits 1 if any case failed.
'use strict';

const { VpcInstanceAuthenticator } = require('ibm-cloud-sdk-core');

const [base, control, tlsBase] = process.argv.slice(2);
const fixture = JSON.parse(process.env.EMU_FIXTURE_JSON);
const profiles = fixture.trusted_profiles;
const [dflt, other] = profiles;
const unlinked = profiles.find((p) => !p.linked);
let failed = 0;

async function ctl(method, path) {
  const r = await fetch(control + path, { method });
  return r.json();
}

function claims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

async function paths() {
  return (await ctl('GET', '/requests')).map((e) => `${e.method} ${e.path}`);
}

async function check(name, fn) {
  await ctl('DELETE', '/requests');
  try {
    const detail = await fn();
    console.log(`PASS node: ${name}${detail ? ` (${detail})` : ''}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL node: ${name}: ${e && e.message ? e.message : e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const OLD = ['PUT /instance_identity/v1/token?version=2022-03-01', 'POST /instance_identity/v1/iam_token?version=2022-03-01'];
const NEW = ['PUT /identity/v1/token?version=2025-08-26', 'POST /identity/v1/iam_tokens?version=2025-08-26'];

async function obtain(expectSub, expectPaths, options) {
  const auth = new VpcInstanceAuthenticator({ url: base, ...options });
  const token = await auth.tokenManager.getToken();
  const sub = claims(token).sub;
  assert(sub === expectSub, `IAM token for ${sub}, expected ${expectSub}`);
  const seen = await paths();
  assert(JSON.stringify(seen) === JSON.stringify(expectPaths), `requests ${JSON.stringify(seen)}`);
  return `${token.length}-byte IAM token for ${sub}`;
}

(async () => {
  await check('default profile, version 2022-03-01', () => obtain(dflt.id, OLD, {}));
  await check('profile id, version 2022-03-01', () => obtain(other.id, OLD, { iamProfileId: other.id }));
  await check('profile crn, version 2022-03-01', () => obtain(other.id, OLD, { iamProfileCrn: other.crn }));
  await check('profile name, version 2022-03-01', () => obtain(other.id, OLD, { iamProfileName: other.name }));
  await check('default profile, version 2025-08-26', () => obtain(dflt.id, NEW, { serviceVersion: '2025-08-26' }));
  await check('profile id, version 2025-08-26', () => obtain(other.id, NEW, { iamProfileId: other.id, serviceVersion: '2025-08-26' }));
  await check('profile crn, version 2025-08-26', () => obtain(other.id, NEW, { iamProfileCrn: other.crn, serviceVersion: '2025-08-26' }));
  await check('unlinked profile is refused with profile_not_linked', async () => {
    const auth = new VpcInstanceAuthenticator({ url: base, iamProfileId: unlinked.id });
    try {
      await auth.tokenManager.getToken();
    } catch (e) {
      assert(e.status === 400, `status ${e.status}`);
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      const code = body && body.errors && body.errors[0].code;
      assert(code === 'profile_not_linked', `code ${code}`);
      return `error 400 profile_not_linked: ${e.message}`;
    }
    throw new Error('no error for an unlinked profile');
  });
  await check('authenticate() sets the Bearer header and caches', async () => {
    const auth = new VpcInstanceAuthenticator({ url: base, iamProfileCrn: other.crn });
    const req = { headers: {} };
    await auth.authenticate(req);
    const h = req.headers.Authorization;
    assert(h && h.startsWith('Bearer '), `header ${h}`);
    assert(claims(h.slice(7)).sub === other.id, 'wrong profile');
    const before = (await ctl('GET', '/counters')).iam_token_exchanges;
    await auth.authenticate({ headers: {} });
    assert((await ctl('GET', '/counters')).iam_token_exchanges === before, 'token not cached');
    return 'Authorization header set, token cached';
  });
  if (tlsBase) {
    await check("HTTPS with the emulator's self-signed certificate", async () => {
      const auth = new VpcInstanceAuthenticator({ url: tlsBase, serviceVersion: '2025-08-26' });
      const token = await auth.tokenManager.getToken();
      assert(claims(token).sub === dflt.id, 'wrong profile');
      return 'certificate verified (NODE_EXTRA_CA_CERTS)';
    });
  }
  process.exit(failed ? 1 : 0);
})();
