// identityToken({nonce}) against the emulator: the test is both packages' (bindings/js/test/nonce.mjs).
import * as imds from 'vpc-imds';
import { runNonceTests } from '../../js/test/nonce.mjs';
import emulator from './emulator.js';

runNonceTests(imds, async () => {
  const emu = await emulator.startEmulator(['--listen', '127.0.0.1:0']);
  return { base: emu.base, counters: () => emu.ctl('GET', '/counters'), stop: emu.stop };
});
