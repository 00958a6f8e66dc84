// Compiled (not run) by `tsc -p test/tsconfig.json` in ci.sh: the declarations in
// index.d.ts describe the API the tests exercise.
import {
  Client, IamTokenCache, Token, UserData, ImdsError, NotFoundError, TransportError, fetchTransport,
  type ClientOptions, type Transport, type ErrorKind, Machine, STEP,
} from 'vpc-imds-wasm';

async function tour(options: ClientOptions): Promise<string> {
  const client = new Client(options);
  const token: Token = await client.identityToken({ expiresIn: 300, nonce: 'n-1', signal: AbortSignal.timeout(5000) });
  const secret: string = token.accessToken;
  const nonce: string | null = token.nonce;
  const instance = await client.instance();
  const name: string | null = instance.name;
  const cores: number | null | undefined = instance.vcpu?.count;
  const data: UserData = await client.userData();
  const text: string = data.text();
  const parts = data.parts().map((p) => [p.contentType, p.data.length]);
  console.log(parts);
  for await (const key of client.keys()) console.log(key.id, key.public_key.length, cores);
  const merged = await client.getAll<{ keys: unknown[] }>('keys?limit=1');
  const iam: Token = await new IamTokenCache(client, { profileName: 'x' }).token();
  try {
    await client.key('nope');
  } catch (e) {
    if (e instanceof NotFoundError) {
      const kind: ErrorKind = e.code;
      console.log(kind, e.status, e.errorCode, e.trace);
    } else if (e instanceof ImdsError) {
      console.log(e.reason, e.transport);
    }
  }
  await client.waitUntilReady(30);
  return `${secret.length} ${nonce} ${name} ${text.length} ${merged.keys.length} ${iam.expiresIn}`;
}

const transport: Transport = async (request) => {
  if (request.timeout < 1) throw new TransportError('response_timeout');
  return fetchTransport()(request);
};

const machine = new Machine({ endpoint: 'http://127.0.0.1:1', max_attempts: 2 });
const op: number = machine.start('identity_token', 0, { expires_in: 60, nonce: 'n-1' });
const step = machine.step(op, 0);
if (step.kind === STEP.SEND) console.log(step.url, step.conn);

void tour({ endpoint: 'http://127.0.0.1:1', transport });
