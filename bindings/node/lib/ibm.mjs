// ESM entry point of vpc-imds/ibm.
import cjs from './ibm.js';

export const { VpcImdsAuthenticator } = cjs;
export default cjs;
