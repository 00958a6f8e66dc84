// Quickstart (CommonJS): node examples/quickstart.cjs
'use strict';
const { Client, ImdsError } = require('vpc-imds');

(async () => {
  const client = new Client();
  const [instance, nics] = await Promise.all([client.instance(), client.networkInterfaces()]);
  console.log(`instance ${instance.name}: ${nics.length} network interfaces`);
  const merged = await client.getAll('placement_groups?limit=1');
  console.log(`placement groups: ${merged.placement_groups.length}`);
  client.close();
})().catch((e) => {
  console.error(e instanceof ImdsError ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
