// The shared low-level Machine checks through this package (the runner is both packages': bindings/js/test).
import * as pkg from 'vpc-imds-wasm';
import { runMachineChecks } from '../../js/test/machine.mjs';

runMachineChecks(pkg, 'vpc-imds-wasm');
