// Everything the packages export (the wasm package's entry points load the module first).
export {
  Client, IamTokenCache, HttpRequest, fetchTransport, classify, STEP, ENDPOINT_ENV, DEFAULT_ENDPOINT, SECURE_ENDPOINT,
} from './client.js';
// Generated: Token, ImdsError, one error class per kind, ERRORS_BY_KIND.
export * from './api.js';
export { TransportError } from './errors.js';
export { UserData, userData, GUNZIP_LIMIT } from './models.js';
export { Machine, mergePages } from './backend.js';
