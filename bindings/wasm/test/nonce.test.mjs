// identityToken({nonce}) against the emulator: the test is both packages' (bindings/js/test/nonce.mjs).
import * as imds from 'vpc-imds-wasm';
import { runNonceTests } from '../../js/test/nonce.mjs';
import { startEmulator } from './emulator.mjs';

runNonceTests(imds, startEmulator);
