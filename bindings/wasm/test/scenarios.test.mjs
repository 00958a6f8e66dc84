// The cross-host scenarios through this package (over Node's fetch): the runner is
// both packages' (bindings/js/test/scenarios.mjs).
import net from 'node:net';
import * as imds from 'vpc-imds-wasm';
import { runScenarios } from '../../js/test/scenarios.mjs';
import { startEmulator, emulatorPath } from './emulator.mjs';

/** A loopback port nothing listens on. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

async function start(args) {
  const emu = await startEmulator(args);
  return { base: emu.base, ctl: emu.call, stop: emu.stop };
}

runScenarios(imds, 'wasm', { bin: emulatorPath(), start, closedPort }, {
  keep_alive_closed_before_any_byte:
    "fetch does not say whether it sent a request on a reused connection: a host that feeds whole responses (Input::Response) always gets fresh connections from the machine, so its resend-once rule never applies; undici's close before any byte is connection_lost, and max_attempts 1 ends the call",
});
