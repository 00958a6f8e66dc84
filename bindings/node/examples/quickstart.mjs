// Quickstart (ESM): node examples/quickstart.mjs  (VPC_IMDS_ENDPOINT picks the emulator)
import { Client, NotFoundError, userData } from 'vpc-imds';

const client = new Client({ timeout: 5 });
const instance = await client.instance();
console.log(`instance ${instance.name} (${instance.id}) in ${instance.zone?.name}`);

for await (const key of client.keys()) console.log(`key ${key.name}`);

const data = await client.userData();
for (const part of userData.parts(data)) console.log(`user data part ${part.contentType}: ${part.data.length} bytes`);

const iam = await client.iamToken();
console.log(`IAM token: ${iam.expiresIn} s`, iam); // the token itself is never printed

try {
  await client.key('no-such-key');
} catch (e) {
  if (e instanceof NotFoundError) console.log(`not found: ${e.errorCode} (trace ${e.trace})`);
  else throw e;
}
client.close();
