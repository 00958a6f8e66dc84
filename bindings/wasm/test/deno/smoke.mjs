// Run by test/deno.test.mjs under Deno (the package's `deno` entry point, lib/node.js)
// against the emulator whose URL is the first argument; prints one JSON line.
import { Client, NotFoundError, RefusedError, Token } from '../../lib/node.js';

const client = new Client({ endpoint: Deno.args[0] });
const token = await client.identityToken();
const instance = await client.instance();
const pages = [];
for await (const page of client.getPages('keys?limit=1')) pages.push(page.keys[0].id);
const parts = (await client.userData()).parts();
let notFound = null;
try {
  await client.key('r000-nope');
} catch (e) {
  notFound = e instanceof NotFoundError ? e.code : String(e);
}
const concurrent = await Promise.all([client.instance(), client.get('instance'), client.keys().next()]);
// A closed port on loopback: refused, as in every host (Deno's sockets name it so).
let refused = null;
try {
  await new Client({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1 }).instance();
} catch (e) {
  refused = e instanceof RefusedError ? e.code : String(e);
}
console.log(JSON.stringify({
  deno: Deno.version.deno,
  token: token instanceof Token && token.accessToken.length > 100 && !JSON.stringify(token).includes('eyJ'),
  name: instance.name,
  pages,
  parts: parts.length,
  notFound,
  concurrent: concurrent.length,
  refused,
}));
