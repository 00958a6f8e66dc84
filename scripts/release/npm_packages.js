'use strict';
// Writes the package.json files of the npm release (napi-rs layout), from
// bindings/node/package.json:
//
//   node npm_packages.js platform MAIN_PACKAGE_JSON DIR PLATFORM OS CPU LIBC
//     DIR/package.json of `<name>-<platform>` holding <binaryName>.<platform>.node,
//     with os/cpu/libc set so npm installs it only where it runs, and a README.
//   node npm_packages.js main MAIN_PACKAGE_JSON DIR "TRIPLE PLATFORM ZIG OS CPU LIBC"...
//     DIR/package.json of the main package: no .node files of its own, and an
//     optionalDependency on each platform package at the same version (what
//     `napi prepublish` adds at publish time), so `npm install` never compiles.
const fs = require('node:fs');
const path = require('node:path');

const [mode, mainJson, dir, ...rest] = process.argv.slice(2);
const main = JSON.parse(fs.readFileSync(mainJson, 'utf8'));
const binaryName = (main.napi && main.napi.binaryName) || main.name;
const write = (file, text) => fs.writeFileSync(path.join(dir, file), text);

if (mode === 'platform') {
  const [platform, os, cpu, libc] = rest;
  const node = `${binaryName}.${platform}.node`;
  if (!fs.existsSync(path.join(dir, node))) throw new Error(`${dir}: no ${node}`);
  const pkg = {
    name: `${main.name}-${platform}`,
    version: main.version,
    description: `The ${platform} native addon of ${main.name} (installed by ${main.name} on that platform)`,
    license: main.license,
    repository: main.repository,
    main: node,
    files: [node],
    os: [os],
    cpu: [cpu],
    ...(libc ? { libc: [libc] } : {}),
    engines: main.engines,
  };
  write('package.json', JSON.stringify(pkg, null, 2) + '\n');
  write('README.md', `# ${pkg.name}\n\nThe prebuilt ${platform} addon of [\`${main.name}\`](https://www.npmjs.com/package/${main.name}).\n` +
    `Install \`${main.name}\`, not this package: npm picks the one for your platform.\n`);
} else if (mode === 'main') {
  const pkg = { ...main };
  pkg.files = (main.files || []).filter((f) => !f.endsWith('.node'));
  pkg.optionalDependencies = {};
  const targets = [];
  for (const spec of rest) {
    const [triple, platform] = spec.split(/\s+/);
    targets.push(triple);
    pkg.optionalDependencies[`${main.name}-${platform}`] = main.version;
  }
  pkg.napi = { ...(main.napi || {}), targets };
  delete pkg.devDependencies;
  delete pkg.scripts;
  write('package.json', JSON.stringify(pkg, null, 2) + '\n');
} else {
  throw new Error(`usage: npm_packages.js platform|main ...`);
}
