'use strict';
// Starts vpc-imds-emulator (EMULATOR_BIN, else the workspace's debug build) for tests.

const { spawn } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');

const root = path.join(__dirname, '..', '..', '..');
const bin = process.env.EMULATOR_BIN || path.join(root, 'target', 'debug', 'vpc-imds-emulator');

/** Starts an emulator; resolves with { base, control, ctl(method, path, body), certFile, stop() }. */
function startEmulator(args = []) {
  return new Promise((resolve, reject) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-imds-node-'));
    const certFile = path.join(tmp, 'cert.pem');
    const extra = args.includes('--tls') ? ['--cert-out', certFile] : [];
    const child = spawn(bin, [...args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`emulator exited (${code}): ${err}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const base = /^listening on (\S+)$/m.exec(out);
      const control = /^control on (\S+)$/m.exec(out);
      if (!base || !control) return;
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      const ctl = async (method, p, body) => {
        const r = await fetch(control[1] + p, {
          method,
          body: body === undefined ? undefined : JSON.stringify(body),
          headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        });
        const text = await r.text();
        return text ? JSON.parse(text) : null;
      };
      resolve({
        base: base[1],
        control: control[1],
        ctl,
        certFile,
        stop() {
          child.removeAllListeners('exit');
          child.kill('SIGTERM');
          fs.rmSync(tmp, { recursive: true, force: true });
        },
      });
    });
  });
}

/** A loopback port nothing listens on. */
async function closedPort() {
  const net = require('node:net');
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

module.exports = { startEmulator, closedPort, root };
