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

const CODES = [
  [/^(ECONNREFUSED)$/, 'refused'],
  [/^(EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ENOTFOUND|EAI_AGAIN|ENETDOWN|EHOSTDOWN|EACCES|EPERM)$/, 'unreachable'],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)$/, 'connect_timeout'],
  [/^(UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/, 'response_timeout'],
  [/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/, 'tls'],
  [/^(ECONNRESET|EPIPE|ECONNABORTED|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_ABORTED|ERR_STREAM_PREMATURE_CLOSE)$/, 'connection_lost'],
];
const MESSAGES = [
  [/refused/i, 'refused'],
  [/unreachable|no route|dns|resolve/i, 'unreachable'],
  [/certificate|tls|ssl|handshake/i, 'tls'],
  [/timed? ?out/i, 'response_timeout'],
  [/reset|closed|terminated|broken pipe|aborted|incomplete|premature/i, 'connection_lost'],
];

/**
 * How an exchange failed, from what fetch (or a custom transport) threw: Node's
 * fetch (undici) names the socket error in `cause.code`; Deno puts it in the
 * message; browsers say only "Failed to fetch", read as `refused` (the usual cause
 * when nothing serves the endpoint; any such failure is retried the same way).
 */
function classify(error) {
  if (TRANSPORT_NAMES.includes(error?.transport)) return error.transport;
  for (const [table, field] of [[CODES, 'code'], [MESSAGES, 'message']]) {
    for (let e = error, depth = 0; e && depth < 4; e = e.cause, depth++) {
      const text = typeof e[field] === 'string' ? e[field] : '';
      for (const [re, name] of table) if (text && re.test(text)) return name;
    }
  }
  return 'connection_lost';
}

export { TransportError, errorFrom, bad, classify };
