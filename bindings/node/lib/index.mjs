// ESM entry point: the CommonJS module's exports, by name.
import cjs from './index.js';

export const {
  Client,
  IamTokenCache,
  Token,
  ENDPOINT_ENV,
  fetchTransport,
  userData,
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
} = cjs;
export default cjs;
