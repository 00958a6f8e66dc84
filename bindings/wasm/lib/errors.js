// Errors: one base class, one subclass per error kind of the core (the same kinds,
// and the same class names, as the Python package). `code` is the kind, as Node's
// own errors carry a `code`. Messages come from the core and never hold a token.

/** Base class of every error an operation rejects with. */
export class ImdsError extends Error {
  /**
   * @param {string} message
   * @param {object} [fields] status, apiCode, apiMessage, trace, target, retryAfter,
   *   reason, transport (absent ones are null)
   */
  constructor(message, fields = {}) {
    super(message);
    const kind = new.target.kind;
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true });
    /** The core's error kind: `invalid_input`, `refused`, `timed_out`, ... */
    this.kind = kind;
    /** The same as `kind` (Node's convention: errors carry a `code`). */
    this.code = kind;
    /** The HTTP status the service answered with. */
    this.status = fields.status ?? null;
    /** IBM's `errors[0].code`, e.g. `profile_not_linked`. */
    this.apiCode = fields.apiCode ?? null;
    /** IBM's `errors[0].message`. */
    this.apiMessage = fields.apiMessage ?? null;
    /** IBM's `trace` id, to quote to IBM support. */
    this.trace = fields.trace ?? null;
    /** IBM's `errors[0].target.name`: the field, header or parameter at fault. */
    this.target = fields.target ?? null;
    /** The `Retry-After` seconds the service asked for. */
    this.retryAfter = fields.retryAfter ?? null;
    /** Why: `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol` or `misuse`. */
    this.reason = fields.reason ?? null;
    /** For transport failures: `refused`, `unreachable`, `connect_timeout`,
     * `response_timeout`, `connection_lost` or `tls`. */
    this.transport = fields.transport ?? null;
  }
}
ImdsError.kind = 'unknown';

/** The input was refused before anything was sent (`invalid_input`). */
export class InvalidArgument extends ImdsError {}
InvalidArgument.kind = 'invalid_input';
/** Nothing accepted the connection, or there is no route (`refused`). */
export class ConnectionRefused extends ImdsError {}
ConnectionRefused.kind = 'refused';
/** A connect, a response or the whole operation took too long (`timed_out`). */
export class ImdsTimeout extends ImdsError {}
ImdsTimeout.kind = 'timed_out';
/** The connection closed before a whole response arrived, on every attempt (`connection_lost`). */
export class ConnectionLost extends ImdsError {}
ConnectionLost.kind = 'connection_lost';
/** HTTP 401 or 403 (`unauthorized`), e.g. the metadata service is disabled. */
export class Unauthorized extends ImdsError {}
Unauthorized.kind = 'unauthorized';
/** HTTP 404 (`not_found`). */
export class NotFound extends ImdsError {}
NotFound.kind = 'not_found';
/** HTTP 429 until retries or time ran out (`rate_limited`). */
export class RateLimited extends ImdsError {}
RateLimited.kind = 'rate_limited';
/** HTTP 5xx until retries or time ran out (`server_error`). */
export class ServerError extends ImdsError {}
ServerError.kind = 'server_error';
/** Another 4xx (`rejected`), e.g. `profile_not_linked`. */
export class Rejected extends ImdsError {}
Rejected.kind = 'rejected';
/** The response broke HTTP framing, a size limit or the documented JSON shape (`bad_response`). */
export class BadResponse extends ImdsError {}
BadResponse.kind = 'bad_response';

/** The error class for each kind. */
export const ERRORS_BY_KIND = Object.freeze(Object.fromEntries(
  [InvalidArgument, ConnectionRefused, ImdsTimeout, ConnectionLost, Unauthorized, NotFound,
    RateLimited, ServerError, Rejected, BadResponse].map((c) => [c.kind, c]),
));

/** The error for the driver's error object `{kind, message, ...}`. */
export function errorFrom(out) {
  const Class = ERRORS_BY_KIND[out?.kind] ?? ImdsError;
  return new Class(String(out?.message ?? 'unknown error'), out ?? {});
}

const TRANSPORT_NAMES = ['refused', 'unreachable', 'connect_timeout', 'response_timeout', 'connection_lost', 'tls'];

/**
 * Thrown by a custom transport when an exchange failed in transport; `name` says
 * how (the driver decides whether to retry). Other errors are classified by
 * `classify` (e.g. Node's `ECONNREFUSED` is `refused`).
 */
export class TransportError extends Error {
  /** @param {string} transport one of refused, unreachable, connect_timeout,
   * response_timeout, connection_lost, tls */
  constructor(transport, detail = '') {
    if (!TRANSPORT_NAMES.includes(transport)) {
      throw new InvalidArgument(`unknown transport error ${JSON.stringify(transport)}; one of ${TRANSPORT_NAMES.join(', ')}`, { reason: 'input' });
    }
    super(detail ? `${transport}: ${detail}` : transport);
    this.transport = transport;
  }
}
Object.defineProperty(TransportError.prototype, 'name', { value: 'TransportError' });

const CODES = [
  [/^(ECONNREFUSED)$/, 'refused'],
  [/^(EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ENOTFOUND|EAI_AGAIN|ENETDOWN|EHOSTDOWN)$/, 'unreachable'],
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
export function classify(error) {
  if (error instanceof TransportError) return error.transport;
  for (let e = error, depth = 0; e && depth < 4; e = e.cause, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    for (const [re, name] of CODES) if (code && re.test(code)) return name;
  }
  for (let e = error, depth = 0; e && depth < 4; e = e.cause, depth++) {
    const message = typeof e.message === 'string' ? e.message : '';
    for (const [re, name] of MESSAGES) if (re.test(message)) return name;
  }
  return 'connection_lost';
}
