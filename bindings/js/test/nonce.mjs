// identityToken({nonce}) against the emulator on 127.0.0.1, through a package's public
// API: the nonce comes back in the Token and as the JWT's `nonce` claim; a nonce the
// core refuses (too long, a control character, a lone surrogate, ...) rejects with
// InvalidInputError and nothing is sent. Both packages' test/nonce.test.mjs call
// `runNonceTests`.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';

/** The JWT's claims (its payload; the emulator signs it, nothing here checks that). */
function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/**
 * `pkg`: the package's exports; `startEmulator()` resolves to `{ base, counters(), stop() }`
 * for an emulator listening on 127.0.0.1.
 */
export function runNonceTests(pkg, startEmulator) {
  const { Client, Token, InvalidInputError } = pkg;

  describe('identityToken({ nonce })', () => {
    let emu;
    before(async () => {
      emu = await startEmulator();
    });
    after(() => emu?.stop());
    const client = () => new Client({ endpoint: emu.base, useEnv: false });

    it('returns the nonce in the Token and as the JWT nonce claim', async () => {
      const c = client();
      const before = (await emu.counters()).token_creations;
      for (const nonce of ['n-0123456789abcdef:/+=~', 'x', '!'.repeat(256)]) {
        const token = await c.identityToken({ nonce, expiresIn: 60 });
        assert.ok(token instanceof Token);
        assert.equal(token.nonce, nonce);
        assert.equal(token.expiresIn, 60);
        assert.equal(claims(token.accessToken).nonce, nonce);
        // Not a secret: shown where the token is not.
        assert.equal(JSON.parse(JSON.stringify(token)).nonce, nonce);
        assert.ok(inspect(token).includes(JSON.stringify(nonce)));
        assert.ok(!inspect(token).includes(token.accessToken) && !JSON.stringify(token).includes(token.accessToken));
      }
      const plain = await c.identityToken();
      assert.equal(plain.nonce, null);
      assert.equal(claims(plain.accessToken).nonce, undefined);
      assert.equal((await emu.counters()).token_creations, before + 4);
    });

    it('a bad nonce rejects with InvalidInputError and nothing is sent', async () => {
      const c = client();
      const before = (await emu.counters()).requests;
      const bad = {
        '257 characters': 'n'.repeat(257),
        'a control character': 'a\u0001b',
        'a line break': 'a\r\nX-Evil: 1',
        'a lone high surrogate': 'n\ud800',
        'a lone low surrogate': '\udc00n',
        'a space': 'two words',
        'non-ASCII': 'grüße',
        empty: '',
        'a number': 42,
        'an object': { nonce: 'x' },
      };
      for (const [what, nonce] of Object.entries(bad)) {
        await assert.rejects(c.identityToken({ nonce }), (e) => {
          assert.ok(e instanceof InvalidInputError, `${what}: ${e?.name}: ${e?.message}`);
          assert.equal(e.code, 'invalid_input', what);
          assert.match(e.message, /nonce/, what);
          return true;
        });
      }
      assert.equal((await emu.counters()).requests, before);
    });
  });
}
