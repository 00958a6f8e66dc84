// Everything the package exports, for the entry points that load the module first.
export {
  Client, IamTokenCache, HttpRequest, fetchTransport, mergePages, STEP, ENDPOINT_ENV, DEFAULT_ENDPOINT,
  SECURE_ENDPOINT, Machine,
} from './client.js';
export {
  ImdsError, InvalidInputError, RefusedError, TimedOutError, ConnectionLostError, UnauthorizedError, NotFoundError,
  RateLimitedError, ServerError, RejectedError, BadResponseError, TransportError, ERRORS_BY_KIND, classify,
} from './errors.js';
export { Token, UserData, userData, GUNZIP_LIMIT } from './models.js';
