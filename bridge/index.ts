// Public API of the Bacen bridge: DICT client, XML codec, XMLDSig and BCB error catalogue.
export * from './types.js';
export * from './xml.js';
export * from './xmldsig.js';
export * from './errors.js';
export { createDictClient, listClaimsQuery, LIST_CLAIMS_MAX_LIMIT, parseCacheMaxAge, parseRetryAfter, type DictClient, type DictClientOptions } from './client.js';
