'use strict';
// Loads the addon built for this platform. napi-rs names it
// vpc-imds.<platform>-<arch>[-<abi>].node; it is found either in the package root (a
// local `napi build --platform`) or in the optional per-platform package that npm
// installed beside this one (vpc-imds-linux-x64-gnu, vpc-imds-linux-x64-musl,
// vpc-imds-linux-s390x-gnu: scripts/build-dist.sh), so `npm install` never compiles.
const { join } = require('node:path');
const { existsSync, readFileSync } = require('node:fs');

// glibc or musl: the same test napi-rs' generated loaders make.
function isMusl() {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    // no ldd (a minimal image): ask node's own report which libc it runs on
  }
  try {
    const header = process.report && process.report.getReport().header;
    return Boolean(header) && !header.glibcVersionRuntime;
  } catch {
    return false;
  }
}

function load() {
  const { arch: cpu, platform } = process;
  const arch = cpu === 'arm' ? 'arm-eabihf' : cpu;
  // Linux: this libc's first (isMusl only there: it may ask node for a report).
  const abis = platform === 'win32' ? ['-msvc'] : platform !== 'linux' ? [''] : isMusl() ? ['-musl', '-gnu'] : ['-gnu', '-musl'];
  const triples = abis.map((abi) => `${platform}-${arch}${abi}`);
  if (platform === 'darwin') triples.push('darwin-universal');
  const errors = [];
  // A local build first (development, `npm pack` of a checkout), either libc.
  for (const triple of triples) {
    const file = join(__dirname, '..', `vpc-imds.${triple}.node`);
    if (!existsSync(file)) continue;
    try {
      return require(file);
    } catch (e) {
      errors.push(`${file}: ${e.message}`);
    }
  }
  // Then the platform package of this libc only: npm installs only the one whose
  // os/cpu/libc match, and another libc's addon could not load anyway.
  const pkg = `vpc-imds-${triples[0]}`;
  try {
    return require(pkg);
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(pkg)) errors.push(`${pkg}: ${e.message}`);
  }
  const looked = triples.map((t) => `vpc-imds.${t}.node`).concat(pkg).join(', ');
  throw new Error(
    `vpc-imds: no native addon for ${platform}-${arch} (looked for ${looked})` +
      (errors.length ? `; ${errors.join('; ')}` : ''),
  );
}

module.exports = load();
