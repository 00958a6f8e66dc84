'use strict';
// Loads the addon built for this platform (napi-rs names it
// vpc-imds.<platform>-<arch>[-<abi>].node, in the package root).
const { join } = require('node:path');
const { existsSync } = require('node:fs');

function load() {
  const arch = process.arch === 'arm' ? 'arm-eabihf' : process.arch;
  const platform = process.platform === 'win32' ? 'win32' : process.platform;
  const suffixes = process.platform === 'win32' ? ['-msvc'] : process.platform === 'linux' ? ['-gnu', '-musl'] : [''];
  const names = suffixes.map((s) => `vpc-imds.${platform}-${arch}${s}.node`);
  if (process.platform === 'darwin') names.push('vpc-imds.darwin-universal.node');
  for (const name of names) {
    const file = join(__dirname, '..', name);
    if (existsSync(file)) return require(file);
  }
  throw new Error(`vpc-imds: no native addon for ${platform}-${arch} (looked for ${names.join(', ')})`);
}

module.exports = load();
