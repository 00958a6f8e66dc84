// The low-level Machine of either package, where its native side meets odd JavaScript:
// both packages run these (test/machine.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';

export function runMachineChecks(pkg, label) {
  const { Machine } = pkg;
  const settings = { endpoint: 'http://127.0.0.1:9' };

  test(`${label}: arguments whose keys or values throw start nothing`, () => {
    const m = new Machine(settings);
    const keysThrow = new Proxy({}, { ownKeys() { throw new Error('keys'); } });
    assert.throws(() => m.start('instance', 0, keysThrow));
    const getterThrows = { get nonce() { throw new Error('getter'); }, expires_in: 5 };
    assert.throws(() => m.start('identity_token', 0, getterThrows));
    assert.equal(m.operations, 0, 'nothing was started');
    // The machine is still usable.
    const id = m.start('instance', 0, {});
    assert.equal(m.step(id, 0).kind, 0, 'a SEND step');
    m.free();
  });

  test(`${label}: settings and arguments are read by their enumerable keys, in both packages`, () => {
    const hidden = Object.defineProperty({}, 'endpoint', { value: 'http://127.0.0.1:7' });
    const inherited = Object.create({ endpoint: 'http://127.0.0.1:7' });
    const byDefault = new Machine({});
    for (const settings of [hidden, inherited]) {
      const m = new Machine(settings);
      assert.equal(m.endpoint, byDefault.endpoint, 'only own enumerable keys are read');
      m.free();
    }
    byDefault.free();
    // Settings whose keys throw, many times: the module stays whole.
    const keysThrow = new Proxy({}, { ownKeys() { throw new Error('keys'); } });
    for (let i = 0; i < 2000; i++) assert.throws(() => new Machine(keysThrow));
    const after = new Machine({ endpoint: 'http://127.0.0.1:9' });
    assert.equal(after.endpoint, 'http://127.0.0.1:9');
    after.free();
  });

  test(`${label}: a freed machine throws before its native side is entered`, () => {
    const m = new Machine(settings);
    m.free();
    m.free(); // twice: nothing more
    for (let i = 0; i < 10000; i++) assert.throws(() => m.step(1, 0), /freed/);
    // Other machines of the module still work.
    const other = new Machine(settings);
    assert.equal(other.step(other.start('instance', 0, {}), 0).kind, 0);
    other.free();
  });
}
