// An app as a user writes it: imports the package by name; Vite bundles the module
// and ships the .wasm as an asset. test/bundler.test.mjs builds it and runs it in
// Chromium against the emulator (?endpoint=...).
import { Client, NotFoundError } from 'vpc-imds-wasm';

const endpoint = new URLSearchParams(location.search).get('endpoint');
const client = new Client({ endpoint });
const result = {};
try {
  result.name = (await client.instance()).name;
  result.keys = [];
  for await (const key of client.keys()) result.keys.push(key.id);
  result.parts = (await client.userData()).parts().length;
  try {
    await client.key('r000-nope');
  } catch (e) {
    result.notFound = e instanceof NotFoundError;
  }
} catch (e) {
  result.error = `${e.name}: ${e.message}`;
}
document.getElementById('out').textContent = JSON.stringify(result);
window.result = result;
