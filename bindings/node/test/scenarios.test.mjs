// The cross-host scenarios through this package (over node:net): the runner is both
// packages' (bindings/js/test/scenarios.mjs).
import path from 'node:path';
import * as imds from 'vpc-imds';
import { runScenarios } from '../../js/test/scenarios.mjs';
import emulator from './emulator.js';

const { startEmulator, closedPort, root } = emulator;
const bin = process.env.EMULATOR_BIN || path.join(root, 'target', 'debug', 'vpc-imds-emulator');
runScenarios(imds, 'node', { bin, start: startEmulator, closedPort });
