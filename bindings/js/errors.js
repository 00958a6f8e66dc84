// Errors beside the generated classes (api.js): transport failures as a custom
// transport reports them, and how fetch's failures are told apart. Shared by the npm
// packages `vpc-imds` and `vpc-imds-wasm`.

import { ImdsError, InvalidInputError } from './api.js';

/** The error for the machine's error record (`kind`, `message`, `cause`, `status`, ...). */
function errorFrom(r) {
  return new ImdsError(r ?? {});
}

/** An `invalid_input` error raised on the JavaScript side: `what` must be `expected`. */
function bad(what, expected) {
  return new InvalidInputError(`invalid input: ${what} must be ${expected}`, { reason: 'input' });
}

const TRANSPORT_NAMES = ['refused', 'unreachable', 'connect_timeout', 'response_timeout', 'connection_lost', 'tls'];

/**
 * Thrown by a custom transport when an exchange failed in transport; `transport`
 * says how (the machine decides whether to retry). Any error with such a `transport`
 * property does the same; other errors are classified by `classify` (e.g. Node's
 * `ECONNREFUSED` is `refused`).
 */
class TransportError extends Error {
  /** @param {string} transport one of refused, unreachable, connect_timeout,
   * response_timeout, connection_lost, tls */
  constructor(transport, detail = '') {
    if (!TRANSPORT_NAMES.includes(transport)) throw bad('a transport error', `one of ${TRANSPORT_NAMES.join(', ')}`);
    super(detail ? `${transport}: ${detail}` : transport);
    this.transport = transport;
  }
}
Object.defineProperty(TransportError.prototype, 'name', { value: 'TransportError' });

/** Codes of Node's fetch (undici) and of TLS that are not errno names. */
const CODES = [
  [/^UND_ERR_CONNECT_TIMEOUT$/, 'connect_timeout'],
  [/^(UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/, 'response_timeout'],
  [/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/, 'tls'],
  [/^(UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_ABORTED|ERR_STREAM_PREMATURE_CLOSE)$/, 'connection_lost'],
];
const MESSAGES = [
  [/refused/i, 'refused'],
  [/unreachable|no route|dns|resolve/i, 'unreachable'],
  [/certificate|tls|ssl|handshake/i, 'tls'],
  [/timed? ?out/i, 'response_timeout'],
  [/reset|closed|terminated|broken pipe|aborted|incomplete|premature/i, 'connection_lost'],
];

/**
 * How an exchange failed, from what fetch (or a custom transport) threw: an errno name
 * in `code` (Node's fetch puts the socket's in `cause.code`) by `failure` (the core's
 * table, the backend's `transportFailure`), read as connecting, as every host reads a
 * custom transport's failure; then undici's and TLS's own codes; then the message
 * (Deno names the socket error there). Anything else, a browser's "Failed to fetch"
 * among them, is `connection_lost`.
 */
function classify(error, failure) {
  if (TRANSPORT_NAMES.includes(error?.transport)) return error.transport;
  for (let e = error, depth = 0; e && depth < 4; e = e.cause, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    // An errno name, the resolver's (EAI_AGAIN) too; not Node's ERR_ codes.
    if (/^E(?!RR_)[A-Z0-9_]+$/.test(code)) return failure(code, false);
    for (const [re, name] of CODES) if (re.test(code)) return name;
  }
  for (let e = error, depth = 0; e && depth < 4; e = e.cause, depth++) {
    // Our own errors (a transport that misused TransportError, say) say nothing of
    // the network, whatever words their messages hold.
    if (e instanceof ImdsError) continue;
    const text = typeof e.message === 'string' ? e.message : '';
    for (const [re, name] of MESSAGES) if (text && re.test(text)) return name;
  }
  return 'connection_lost';
}

export { TransportError, errorFrom, bad, classify };
