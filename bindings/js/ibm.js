// An authenticator for IBM Cloud's Node SDKs (npm `ibm-cloud-sdk-core`): use it
// wherever an IBM SDK takes an authenticator, in place of the SDK's own
// VpcInstanceAuthenticator.

import { Client, IamTokenCache } from './client.js';
import { bad } from './errors.js';

/**
 * `Authenticator` for IBM SDK services (e.g. `new VpcV1({ authenticator })`),
 * backed by vpc-imds. Options match ibm-cloud-sdk-core's VpcInstanceAuthenticator
 * (`iamProfileCrn`, `iamProfileId`, `iamProfileName`: at most one, none means the
 * instance's default trusted profile, read once; `url`: the metadata service
 * endpoint, an empty one the default; `serviceVersion`: the API version date);
 * `client` is an existing Client to use (given alone); other options configure a
 * new one.
 */
class VpcImdsAuthenticator {
  static AUTHTYPE_VPC = 'vpc';

  #profile;

  constructor(options = {}) {
    const { iamProfileCrn, iamProfileId, iamProfileName, url, client, ...rest } = options;
    // Empty or absent alike (as `url`), and an option given as undefined is no option.
    const serviceVersion = rest.serviceVersion || undefined;
    delete rest.serviceVersion;
    const clientOptions = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    this.#profile = { iamProfileCrn, iamProfileId, iamProfileName };
    this.validate();
    if (clientOptions.endpoint != null) throw bad('endpoint', 'given as url');
    if (serviceVersion !== undefined && clientOptions.version != null && clientOptions.version !== serviceVersion) {
      throw bad('serviceVersion', 'the same as version when both are given');
    }
    if (client !== undefined && client !== null) {
      if (!(client instanceof Client)) throw bad('client', 'a Client of this package');
      if (url || serviceVersion !== undefined || Object.keys(clientOptions).length > 0) {
        throw bad('client', 'given alone (url and client options configure a new client)');
      }
    }
    this.client = client ?? new Client({ ...clientOptions, endpoint: url || undefined, version: clientOptions.version ?? serviceVersion });
    // An empty field is an absent one, as in the SDK's own authenticator.
    this.cache = new IamTokenCache(this.client, { profileId: iamProfileId || undefined, profileCrn: iamProfileCrn || undefined, profileName: iamProfileName || undefined });
  }

  get iamProfileCrn() { return this.#profile.iamProfileCrn; }
  get iamProfileId() { return this.#profile.iamProfileId; }
  get iamProfileName() { return this.#profile.iamProfileName; }

  /** `vpc`, like the SDK's own VPC instance authenticator. */
  authenticationType() {
    return VpcImdsAuthenticator.AUTHTYPE_VPC;
  }

  /** Throws if more than one trusted profile is given. */
  validate() {
    if ([this.iamProfileCrn, this.iamProfileId, this.iamProfileName].filter((p) => p).length > 1) {
      throw bad('the trusted profile', 'at most one of "iamProfileId", "iamProfileCrn" or "iamProfileName"');
    }
  }

  /** Sets `requestOptions.headers.Authorization` to `Bearer <IAM token>`. */
  async authenticate(requestOptions) {
    const token = await this.cache.token();
    requestOptions.headers = requestOptions.headers || {};
    requestOptions.headers.Authorization = `Bearer ${token.accessToken}`;
  }

  /** The IAM token (cached while fresh). */
  async token() {
    return (await this.cache.token()).accessToken;
  }

  toJSON() {
    const { iamProfileId, iamProfileCrn, iamProfileName } = this;
    return { authenticationType: 'vpc', iamProfileId, iamProfileCrn, iamProfileName };
  }
}

export { VpcImdsAuthenticator };
