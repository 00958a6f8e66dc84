// The cross-host scenarios through this package under Node (its node:net sockets, as
// the vpc-imds package's): the runner is both packages' (bindings/js/test/scenarios.mjs).
// scenarios-fetch.test.mjs runs them over fetch, as in browsers.
import * as imds from 'vpc-imds-wasm';
import { runScenarios } from '../../js/test/scenarios.mjs';
import { scenarioEmulator } from './emulator.mjs';

runScenarios(imds, 'wasm', scenarioEmulator);
