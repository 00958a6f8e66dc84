// Errors: one base class, one subclass per error kind of the core, with the same
// names and fields as the Node package (`vpc-imds`): `code` is the kind, as Node's
// own errors carry a `code`. Messages come from the core and never hold a token.

/** Base class of every error an operation rejects with. */
export class ImdsError extends Error {
  /**
   * @param {string} message
   * @param {object} [fields] status, errorCode, errorMessage, trace, target, retryAfter,
   *   reason, transport (absent ones are null)
   */
  constructor(message, fields = {}) {
    super(message);
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true });
    /** The core's error kind: `invalid_input`, `refused`, `timed_out`, ... (the same in every binding). */
    this.code = new.target.kind;
    /** The HTTP status the service answered with. */
    this.status = fields.status ?? null;
    /** IBM's `errors[0].code`, e.g. `profile_not_linked`. */
    this.errorCode = fields.errorCode ?? null;
    /** IBM's `errors[0].message`. */
    this.errorMessage = fields.errorMessage ?? null;
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
export class InvalidInputError extends ImdsError {}
InvalidInputError.kind = 'invalid_input';
/** Nothing accepted the connection, or there is no route (`refused`). */
export class RefusedError extends ImdsError {}
RefusedError.kind = 'refused';
/** A connect, a response or the whole operation took too long (`timed_out`). */
export class TimedOutError extends ImdsError {}
TimedOutError.kind = 'timed_out';
/** The connection closed before a whole response arrived, on every attempt (`connection_lost`). */
export class ConnectionLostError extends ImdsError {}
ConnectionLostError.kind = 'connection_lost';
/** HTTP 401 or 403 (`unauthorized`), e.g. the metadata service is disabled. */
export class UnauthorizedError extends ImdsError {}
UnauthorizedError.kind = 'unauthorized';
/** HTTP 404 (`not_found`). */
export class NotFoundError extends ImdsError {}
NotFoundError.kind = 'not_found';
/** HTTP 429 until retries or time ran out (`rate_limited`). */
export class RateLimitedError extends ImdsError {}
RateLimitedError.kind = 'rate_limited';
/** HTTP 5xx until retries or time ran out (`server_error`). */
export class ServerError extends ImdsError {}
ServerError.kind = 'server_error';
/** Another 4xx (`rejected`), e.g. `profile_not_linked`. */
export class RejectedError extends ImdsError {}
RejectedError.kind = 'rejected';
/** The response broke HTTP framing, a size limit or the documented JSON shape (`bad_response`). */
export class BadResponseError extends ImdsError {}
BadResponseError.kind = 'bad_response';

/** The error class for each kind. */
export const ERRORS_BY_KIND = Object.freeze(Object.fromEntries(
  [InvalidInputError, RefusedError, TimedOutError, ConnectionLostError, UnauthorizedError, NotFoundError,
    RateLimitedError, ServerError, RejectedError, BadResponseError].map((c) => [c.kind, c]),
));

/** The error for the machine's error record (`kind`, `message`, `cause`, `status`, ...). */
export function errorFrom(r) {
  const Class = ERRORS_BY_KIND[r?.kind] ?? ImdsError;
  const fields = { ...r, errorCode: r?.code, errorMessage: r?.api_message, retryAfter: r?.retry_after, reason: r?.cause };
  return new Class(String(r?.message ?? 'unknown error'), fields);
}

const TRANSPORT_NAMES = ['refused', 'unreachable', 'connect_timeout', 'response_timeout', 'connection_lost', 'tls'];

/**
 * Thrown by a custom transport when an exchange failed in transport; `transport`
 * says how (the driver decides whether to retry). Any error with such a `transport`
 * property does the same; other errors are classified by `classify` (e.g. Node's
 * `ECONNREFUSED` is `refused`).
 */
export class TransportError extends Error {
  /** @param {string} transport one of refused, unreachable, connect_timeout,
   * response_timeout, connection_lost, tls */
  constructor(transport, detail = '') {
    if (!TRANSPORT_NAMES.includes(transport)) {
      throw new InvalidInputError(`unknown transport error ${JSON.stringify(transport)}; one of ${TRANSPORT_NAMES.join(', ')}`, { reason: 'input' });
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
  if (TRANSPORT_NAMES.includes(error?.transport)) return error.transport;
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
