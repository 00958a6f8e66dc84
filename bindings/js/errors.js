// Errors: one base class, one subclass per error kind of the core (`code` is the
// kind, as Node's own errors carry a `code`). Messages come from the core and never
// hold a token. Shared by the npm packages `vpc-imds` and `vpc-imds-wasm`.

/** Base class of every error an operation rejects with. */
class ImdsError extends Error {
  /**
   * @param {string} message
   * @param {object} [fields] status, errorCode, errorMessage, trace, target, retryAfter,
   *   reason, transport (absent ones are null)
   */
  constructor(message, fields = {}) {
    // An error record (the 0.1.0 Node constructor's argument) is still accepted.
    if (typeof message === 'object' && message !== null) return errorFrom(message, new.target);
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
class InvalidInputError extends ImdsError {}
InvalidInputError.kind = 'invalid_input';
/** Nothing accepted the connection, or there is no route (`refused`). */
class RefusedError extends ImdsError {}
RefusedError.kind = 'refused';
/** A connect, a response or the whole operation took too long (`timed_out`). */
class TimedOutError extends ImdsError {}
TimedOutError.kind = 'timed_out';
/** The connection closed before a whole response arrived, on every attempt (`connection_lost`). */
class ConnectionLostError extends ImdsError {}
ConnectionLostError.kind = 'connection_lost';
/** HTTP 401 or 403 (`unauthorized`), e.g. the metadata service is disabled. */
class UnauthorizedError extends ImdsError {}
UnauthorizedError.kind = 'unauthorized';
/** HTTP 404 (`not_found`). */
class NotFoundError extends ImdsError {}
NotFoundError.kind = 'not_found';
/** HTTP 429 until retries or time ran out (`rate_limited`). */
class RateLimitedError extends ImdsError {}
RateLimitedError.kind = 'rate_limited';
/** HTTP 5xx until retries or time ran out (`server_error`). */
class ServerError extends ImdsError {}
ServerError.kind = 'server_error';
/** Another 4xx (`rejected`), e.g. `profile_not_linked`. */
class RejectedError extends ImdsError {}
RejectedError.kind = 'rejected';
/** The response broke HTTP framing, a size limit or the documented JSON shape (`bad_response`). */
class BadResponseError extends ImdsError {}
BadResponseError.kind = 'bad_response';

/** The error class for each kind. */
const ERRORS_BY_KIND = Object.freeze(Object.fromEntries(
  [InvalidInputError, RefusedError, TimedOutError, ConnectionLostError, UnauthorizedError, NotFoundError,
    RateLimitedError, ServerError, RejectedError, BadResponseError].map((c) => [c.kind, c]),
));

/** The error for the machine's error record (`kind`, `message`, `cause`, `status`, ...). */
function errorFrom(r, Base = ImdsError) {
  const Class = ERRORS_BY_KIND[r?.kind] ?? Base;
  const fields = { ...r, errorCode: r?.code, errorMessage: r?.api_message, retryAfter: r?.retry_after, reason: r?.cause };
  return new Class(String(r?.message ?? 'unknown error'), fields);
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

export {
  ImdsError, InvalidInputError, RefusedError, TimedOutError, ConnectionLostError, UnauthorizedError, NotFoundError,
  RateLimitedError, ServerError, RejectedError, BadResponseError, TransportError, ERRORS_BY_KIND, errorFrom, bad,
  classify,
};
