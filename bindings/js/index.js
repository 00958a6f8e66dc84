// Everything the packages export (the wasm package's entry points load the module first).
export {
  Client, IamTokenCache, HttpRequest, fetchTransport, STEP, ENDPOINT_ENV, DEFAULT_ENDPOINT, SECURE_ENDPOINT,
} from './client.js';
export {
  ImdsError, InvalidInputError, RefusedError, TimedOutError, ConnectionLostError, UnauthorizedError, NotFoundError,
  RateLimitedError, ServerError, RejectedError, BadResponseError, TransportError, ERRORS_BY_KIND, classify,
} from './errors.js';
export { Token, UserData, userData, GUNZIP_LIMIT } from './models.js';
export { Machine, mergePages } from './backend.js';
