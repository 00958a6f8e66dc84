'use strict';
// One Error subclass per error kind of the core; `code` is the kind.

/**
 * Base class of every error an operation rejects with. `code` is the core's error
 * kind, the same in every binding; the other fields are null when they do not apply.
 * The message never contains a token.
 */
class ImdsError extends Error {
  constructor(info) {
    super(info.message);
    this.name = this.constructor.name;
    /** The error kind (`invalid_input`, `refused`, `timed_out`, ...). */
    this.code = info.kind;
    /** HTTP status the service answered with. */
    this.status = info.status ?? null;
    /** IBM's error code (`errors[0].code`), e.g. `not_found`. */
    this.errorCode = info.code ?? null;
    /** IBM's error message (`errors[0].message`). */
    this.errorMessage = info.api_message ?? null;
    /** IBM's trace id, to quote to IBM support. */
    this.trace = info.trace ?? null;
    /** The field, header or parameter at fault (`errors[0].target.name`). */
    this.target = info.target ?? null;
    /** The `Retry-After` seconds the service asked for. */
    this.retryAfter = info.retry_after ?? null;
    /** Why: `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol`, `misuse`. */
    this.reason = info.cause ?? null;
    /** For transport failures: `refused`, `unreachable`, `connect_timeout`,
     * `response_timeout`, `connection_lost` or `tls`. */
    this.transport = info.transport ?? null;
  }
}

class InvalidInputError extends ImdsError {}
class RefusedError extends ImdsError {}
class TimedOutError extends ImdsError {}
class ConnectionLostError extends ImdsError {}
class UnauthorizedError extends ImdsError {}
class NotFoundError extends ImdsError {}
class RateLimitedError extends ImdsError {}
class ServerError extends ImdsError {}
class RejectedError extends ImdsError {}
class BadResponseError extends ImdsError {}

const byKind = {
  invalid_input: InvalidInputError,
  refused: RefusedError,
  timed_out: TimedOutError,
  connection_lost: ConnectionLostError,
  unauthorized: UnauthorizedError,
  not_found: NotFoundError,
  rate_limited: RateLimitedError,
  server_error: ServerError,
  rejected: RejectedError,
  bad_response: BadResponseError,
};

/** The error for the machine's error record (`kind`, `message`, `cause`, `status`, ...). */
function toError(info) {
  const Class = byKind[info.kind] || ImdsError;
  return new Class(info);
}

/** An `invalid_input` error raised by the JavaScript side (argument types). */
function invalidInput(text) {
  return new InvalidInputError({ kind: 'invalid_input', message: `invalid input: ${text}`, cause: 'input' });
}

module.exports = {
  ImdsError,
  InvalidInputError,
  RefusedError,
  TimedOutError,
  ConnectionLostError,
  UnauthorizedError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  RejectedError,
  BadResponseError,
  toError,
  invalidInput,
};
