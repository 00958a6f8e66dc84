#!/usr/bin/env bash
# npm pack the package, install the tarball into a fresh directory (outside the
# source tree) and use it from there against the emulator.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="$(cd "$here" && npm pack --silent --pack-destination "$work")"
echo "tarball: $tarball $(stat -c %s "$work/$tarball") bytes, $(tar tzf "$work/$tarball" | wc -l) files:" \
  "$(tar tzf "$work/$tarball" | sed 's|^package/||' | sort | tr '\n' ' ')"
mkdir "$work/app"
cd "$work/app"
echo '{"name":"app","private":true,"type":"module"}' > package.json
npm install --silent --no-audit --no-fund "$work/$tarball"
cat > smoke.mjs <<JS
import { Client, NotFoundError } from 'vpc-imds-wasm';
import { startEmulator } from '$here/test/emulator.mjs';
const where = import.meta.resolve('vpc-imds-wasm');
if (!where.includes('/app/node_modules/vpc-imds-wasm/')) throw new Error('not the installed package: ' + where);
const emu = await startEmulator();
try {
  const c = new Client({ endpoint: emu.base, useEnv: false });
  const instance = await c.instance();
  const keys = [];
  for await (const k of c.keys()) keys.push(k.id);
  const data = await c.userData();
  let notFound = false;
  try { await c.key('nope'); } catch (e) { notFound = e instanceof NotFoundError; }
  if (instance.name !== 'emu-vsi-1' || keys.length !== 3 || data.length === 0 || !notFound) throw new Error('unexpected results');
  console.log('installed tarball works:', instance.name, keys.length, 'keys,', data.length, 'bytes of user data, 404 is NotFoundError');
} finally {
  await emu.stop();
}
JS
node smoke.mjs
