'use strict';
// User data helpers: gzip (bounded), MIME multi-part (nested, base64, quoted-printable), text.

const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { userData, BadResponseError } = require('../lib/index.js');

const mime = [
  'Content-Type: multipart/mixed; boundary="OUTER"',
  'MIME-Version: 1.0',
  '',
  '--OUTER',
  'Content-Type: text/cloud-config; charset="utf-8"',
  'Content-Disposition: attachment; filename="cloud.cfg"',
  '',
  '#cloud-config',
  'packages: [jq]',
  '--OUTER',
  'Content-Type: multipart/alternative; boundary=INNER',
  '',
  '--INNER',
  'Content-Type: text/x-shellscript',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('#!/bin/sh\necho Grüße\n').toString('base64'),
  '--INNER',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9 =',
  'au lait',
  '--INNER--',
  '--OUTER--',
  '',
].join('\r\n');

test('plain data is one part; text decodes only when asked', () => {
  const data = Buffer.from('#!/bin/sh\necho hi\n');
  assert.equal(userData.isGzip(data), false);
  assert.equal(userData.isMultipart(data), false);
  const [part, ...rest] = userData.parts(data);
  assert.deepEqual({ ...part, data: new Uint8Array(part.data) }, { contentType: null, filename: null, charset: null, data: new Uint8Array(data) });
  assert.equal(rest.length, 0);
  assert.equal(userData.text(data), '#!/bin/sh\necho hi\n');
  assert.deepEqual(userData.parts(Buffer.alloc(0)), []);
});

test('MIME multi-part: leaves in order, nested, transfer encodings removed', () => {
  const parts = userData.parts(Buffer.from(mime, 'utf8'));
  assert.deepEqual(parts.map((p) => p.contentType), ['text/cloud-config', 'text/x-shellscript', 'text/plain']);
  assert.equal(parts[0].filename, 'cloud.cfg');
  assert.equal(parts[0].charset, 'utf-8');
  assert.equal(parts[0].data.toString(), '#cloud-config\r\npackages: [jq]');
  assert.equal(parts[1].data.toString('utf8'), '#!/bin/sh\necho Grüße\n');
  assert.equal(parts[2].data.toString('utf8'), 'café au lait');
});

test('gzip: detected, decompressed, multi-part inside, bounded', () => {
  const gz = zlib.gzipSync(Buffer.from(mime, 'utf8'));
  assert.equal(userData.isGzip(gz), true);
  assert.equal(userData.isMultipart(gz), true);
  assert.equal(userData.decompress(gz).toString('utf8'), mime);
  assert.equal(userData.parts(gz).length, 3);
  // The driver's limit, as every host has it: 16 MiB decompress, a byte more does not.
  assert.equal(userData.GUNZIP_LIMIT, 16 * 1024 * 1024);
  assert.equal(userData.decompress(zlib.gzipSync(Buffer.alloc(userData.GUNZIP_LIMIT))).length, userData.GUNZIP_LIMIT);
  const bomb = zlib.gzipSync(Buffer.alloc(userData.GUNZIP_LIMIT + 1));
  // The driver's record, as every host reports it: bad_response with its words.
  const bad = (words) => (e) => e instanceof BadResponseError && e.code === 'bad_response' && words.test(e.message);
  assert.throws(() => userData.decompress(bomb), bad(/exceeds 16777216 bytes/));
  assert.throws(() => userData.decompress(Buffer.from([0x1f, 0x8b, 0, 1, 2])), bad(/not valid gzip/));
});
