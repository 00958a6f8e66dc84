// Type-checked by `tsc --noEmit --strict` as CommonJS.
import imds = require('vpc-imds');

async function main(): Promise<void> {
  const client = new imds.Client();
  const nics: imds.NetworkInterface[] = await client.networkInterfaces();
  const lines: string[] = await client.sshKeys();
  const err: imds.ImdsError | undefined = await client.key('x').then(() => undefined, (e: imds.ImdsError) => e);
  console.log(nics.length, lines.length, err?.code);
}
main();
