'use strict';
// vpc-imds: the IBM Cloud VPC Instance Metadata Service from Node.js.

const { Client, IamTokenCache, Token, ENDPOINT_ENV } = require('./client.js');
const errors = require('./errors.js');
const { fetchTransport } = require('./transport.js');
const userData = require('./userdata.js');

module.exports = {
  Client,
  IamTokenCache,
  Token,
  ENDPOINT_ENV,
  fetchTransport,
  userData,
  ImdsError: errors.ImdsError,
  InvalidInputError: errors.InvalidInputError,
  RefusedError: errors.RefusedError,
  TimedOutError: errors.TimedOutError,
  ConnectionLostError: errors.ConnectionLostError,
  UnauthorizedError: errors.UnauthorizedError,
  NotFoundError: errors.NotFoundError,
  RateLimitedError: errors.RateLimitedError,
  ServerError: errors.ServerError,
  RejectedError: errors.RejectedError,
  BadResponseError: errors.BadResponseError,
};
