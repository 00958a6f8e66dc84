// Starts the vpc-imds emulator binary (VPC_IMDS_EMULATOR, else target/debug) on
// loopback and talks to its control API. Tests never reach anything else.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

export function emulatorPath() {
  const path = process.env.VPC_IMDS_EMULATOR ?? `${process.env.CARGO_TARGET_DIR ?? `${repo}target`}/debug/vpc-imds-emulator`;
  if (!existsSync(path)) throw new Error(`no emulator at ${path}: cargo build -p vpc-imds-emulator`);
  return path;
}

/** Starts the emulator with `args`; resolves to {base, control, stop(), faults helpers}. */
export async function startEmulator(args = []) {
  const child = spawn(emulatorPath(), ['--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const urls = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the emulator did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
    lines.on('line', (line) => {
      const m = /^(?:listening|control) on (\S+)$/.exec(line);
      if (m) urls.push(m[1]);
      if (urls.length === 2) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const [base, control] = urls;
  const call = async (method, path, body) => {
    const r = await fetch(control + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`control ${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    base,
    control,
    call,
    counters: () => call('GET', '/counters'),
    reset: () => call('POST', '/reset'),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** A loopback port nothing listens on. */
export async function closedPort() {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** The scenario runner's emulator (bindings/js/test/scenarios.mjs). */
export const scenarioEmulator = {
  bin: emulatorPath(),
  start: async (args) => {
    const emu = await startEmulator(args);
    return { base: emu.base, ctl: emu.call, stop: emu.stop };
  },
  closedPort,
};
