// Builds test/bundler/ with the package resolved by name, as an app's node_modules
// would give it (the `default` export condition: lib/browser.js).
import { fileURLToPath } from 'node:url';

export default {
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  resolve: { alias: { 'vpc-imds-wasm': fileURLToPath(new URL('../../lib/browser.js', import.meta.url)) } },
  build: { outDir: process.env.VITE_OUT_DIR, emptyOutDir: true },
};
