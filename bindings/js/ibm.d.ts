// Types of `vpc-imds/ibm`: an authenticator for ibm-cloud-sdk-core's BaseService.
import type { Client, ClientOptions } from './index.js';

/** Options of VpcImdsAuthenticator (those of ibm-cloud-sdk-core's VpcInstanceAuthenticator, plus client options). */
export interface VpcImdsAuthenticatorOptions extends Omit<ClientOptions, 'endpoint'> {
  /** Trusted profile CRN (at most one of CRN, id and name; none: the default profile). */
  iamProfileCrn?: string;
  /** Trusted profile id. */
  iamProfileId?: string;
  /** Trusted profile name. */
  iamProfileName?: string;
  /** The metadata service endpoint (empty: the default). */
  url?: string;
  /** The API version date (the client option `version`). */
  serviceVersion?: string;
  /** An existing client to use (given alone: no `url` or client options). */
  client?: Client;
}

/** `Authenticator` for IBM SDK services (`new VpcV1({ authenticator })`), backed by vpc-imds. */
export declare class VpcImdsAuthenticator {
  static readonly AUTHTYPE_VPC: 'vpc';
  constructor(options?: VpcImdsAuthenticatorOptions);
  readonly client: Client;
  readonly iamProfileCrn?: string;
  readonly iamProfileId?: string;
  readonly iamProfileName?: string;
  /** `vpc`. */
  authenticationType(): string;
  /** Throws if more than one trusted profile is given. */
  validate(): void;
  /** Sets `requestOptions.headers.Authorization` to `Bearer <IAM token>`. */
  authenticate(requestOptions: { headers?: Record<string, string> }): Promise<void>;
  /** The IAM token (cached while fresh). */
  token(): Promise<string>;
}
