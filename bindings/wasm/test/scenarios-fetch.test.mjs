// The cross-host scenarios through this package over fetch (the transport in browsers;
// under Node and Deno, the `fetch` option): every client gets Node's fetch.
import * as pkg from 'vpc-imds-wasm';
import { runScenarios } from '../../js/test/scenarios.mjs';
import { scenarioEmulator } from './emulator.mjs';

class Client extends pkg.Client {
  constructor(options = {}) {
    super({ fetch: globalThis.fetch, ...options });
  }
}

runScenarios({ ...pkg, Client }, 'wasm', scenarioEmulator, {
  keep_alive_closed_before_any_byte:
    "fetch does not say whether it sent a request on a reused connection: a host that feeds whole responses (Input::Response) always gets fresh connections from the machine, so its resend-once rule never applies; undici's close before any byte is connection_lost, and max_attempts 1 ends the call",
});
