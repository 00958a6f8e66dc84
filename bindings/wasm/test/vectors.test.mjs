// Every shared vector through this package's Machine: the runner is both packages' (bindings/js/test).
import * as pkg from 'vpc-imds-wasm';
import { runVectors } from '../../js/test/vectors.mjs';

runVectors(pkg, 'vpc-imds-wasm');
