// Type-checked by `tsc --noEmit --strict` (examples/tsconfig.json); runs as ESM.
import { Client, IamTokenCache, ImdsError, RateLimitedError, fetchTransport, userData, type Instance, type Key, type Token } from 'vpc-imds';
import { VpcImdsAuthenticator } from 'vpc-imds/ibm';

const client: Client = new Client({ timeout: 5, connectTimeout: 1, transport: process.env.USE_FETCH ? fetchTransport() : undefined });
const instance: Instance = await client.instance({ signal: AbortSignal.timeout(10_000) });
const cores: number | null | undefined = instance.vcpu?.count;
const keys: Key[] = [];
for await (const key of client.keys()) keys.push(key);
const token: Token = await new IamTokenCache(client, { profileName: undefined }).token();
const seconds: number | null = token.expiresIn;
const parts = userData.parts(await client.userData());
const doc = await client.get<{ id: string }>('instance');
try {
  await client.get('keys/missing');
} catch (e) {
  if (e instanceof RateLimitedError) console.log(e.retryAfter);
  else if (e instanceof ImdsError) console.log(e.code, e.status, e.errorCode);
}
const auth = new VpcImdsAuthenticator({ client });
const headers: Record<string, string> = {};
await auth.authenticate({ headers });
console.log(instance.name, cores, keys.length, seconds, parts.length, doc.id, auth.authenticationType(), Object.keys(headers));
client.close();
