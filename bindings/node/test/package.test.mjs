// The package's entry points: ESM and CommonJS export the same names, by
// package name (self-reference through "exports") as users import them.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as esm from 'vpc-imds';
import esmDefault from 'vpc-imds';
import * as ibmEsm from 'vpc-imds/ibm';

const require = createRequire(import.meta.url);

test('ESM and CommonJS export the same names and values', () => {
  const cjs = require('vpc-imds');
  const names = Object.keys(esm).filter((k) => k !== 'default').sort();
  assert.deepEqual(names, Object.keys(cjs).sort());
  for (const k of names) assert.equal(esm[k], cjs[k], k);
  assert.equal(esmDefault, cjs);
  assert.equal(ibmEsm.VpcImdsAuthenticator, require('vpc-imds/ibm').VpcImdsAuthenticator);
});

test('one error class per kind, codes as the core names them', () => {
  const kinds = ['invalid_input', 'refused', 'timed_out', 'connection_lost', 'unauthorized', 'not_found', 'rate_limited', 'server_error', 'rejected', 'bad_response'];
  const classes = Object.values(esm).filter((v) => typeof v === 'function' && v.prototype instanceof esm.ImdsError);
  assert.equal(classes.length, kinds.length);
  assert.ok(esm.ImdsError.prototype instanceof Error);
});
