// Everything the package exports, for the entry points that load the module first.
export {
  Client, IamTokenCache, HttpRequest, mergePages, STEP, ENDPOINT_ENV, DEFAULT_ENDPOINT, SECURE_ENDPOINT,
  Config, Driver, IamCache,
} from './client.js';
export {
  ImdsError, InvalidArgument, ConnectionRefused, ImdsTimeout, ConnectionLost, Unauthorized, NotFound,
  RateLimited, ServerError, Rejected, BadResponse, TransportError, ERRORS_BY_KIND, classify,
} from './errors.js';
export { Token, UserData } from './models.js';
