// Builds a package's lib/ from the shared client layer (this directory) and the
// package's backend (bindings/<package>/js/: backend.js and what it needs):
//
//   node bindings/js/build.mjs node   # vpc-imds: CommonJS, plus ESM entry points over it
//   node bindings/js/build.mjs wasm   # vpc-imds-wasm: ESM as written
//
// The sources are ES modules whose imports and exports are plain lists, so that the
// CommonJS form is a line-by-line rewrite (no bundler).
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const shared = fileURLToPath(new URL('.', import.meta.url));
const pkg = process.argv[2];
if (pkg !== 'node' && pkg !== 'wasm') throw new Error('usage: build.mjs node|wasm');
const backend = join(shared, '..', pkg, 'js');
const lib = join(shared, '..', pkg, 'lib');
rmSync(lib, { recursive: true, force: true });
mkdirSync(lib);

const names = (list) => list.split(',').map((n) => n.trim()).filter(Boolean);

/** An ES module as CommonJS: imports become requires, export lists `exports` members. */
function commonjs(text) {
  const exported = [];
  const out = text
    .replace(/^import (\w+) from ('[^']+');/gm, 'const $1 = require($2);')
    .replace(/^import \{([^}]*)\} from ('[^']+');/gm, (_, list, from) => `const {${list.replace(/ as /g, ': ')}} = require(${from});`)
    .replace(/^export \{([^}]*)\} from ('[^']+');/gm, (_, list, from) => `({ ${names(list).map((n) => `${n}: exports.${n}`).join(', ')} } = require(${from}));`)
    .replace(/^export \* from ('[^']+');/gm, (_, from) => `Object.assign(exports, require(${from}));`)
    .replace(/^export \{([^}]*)\};/gm, (_, list) => `Object.assign(exports, { ${names(list).join(', ')} });`)
    .replace(/^export (class|function|const|let) (\w+)/gm, (_, kind, name) => (exported.push(name), `${kind} ${name}`));
  if (/^(import|export) /m.test(out)) throw new Error('an import or export the CommonJS rewrite does not know');
  return `'use strict';\n${out}${exported.length ? `Object.assign(exports, { ${exported.join(', ')} });\n` : ''}`;
}

const sources = [
  // The IBM SDK authenticator is vpc-imds' (ibm-cloud-sdk-core is a Node library).
  ...readdirSync(shared).filter((f) => /^(?!build)\w+\.(js|d\.ts)$/.test(f) && (pkg === 'node' || !f.startsWith('ibm')))
    .map((f) => join(shared, f)),
  ...readdirSync(backend).filter((f) => f.endsWith('.js')).map((f) => join(backend, f)),
];
for (const file of sources) {
  const name = file.split('/').pop();
  const text = readFileSync(file, 'utf8');
  if (pkg === 'wasm' || name.endsWith('.d.ts') || !/^(import|export) /m.test(text)) copyFileSync(file, join(lib, name));
  else writeFileSync(join(lib, name), commonjs(text));
}
/** The names a shared module exports: its export lists, and those of the modules it
 * re-exports whole (`export * from`). */
function exported(file) {
  const text = readFileSync(join(shared, file), 'utf8');
  return [...text.matchAll(/^export (?:\{([^}]*)\}|\* from '\.\/([^']+)')/gm)]
    .flatMap((m) => (m[1] !== undefined ? names(m[1]) : exported(m[2])));
}

if (pkg === 'node') {
  // ESM entry points over the CommonJS modules: one set of classes for both.
  for (const entry of ['index', 'ibm']) {
    const list = exported(`${entry}.js`);
    writeFileSync(join(lib, `${entry}.mjs`), `// ESM entry point: the CommonJS module's exports, by name.\n` +
      `import cjs from './${entry}.js';\n\nexport const { ${list.join(', ')} } = cjs;\nexport default cjs;\n`);
  }
}
