// BCB DICT API v2 XML codec, one per resource under bridge/xml/ (common machinery, entries and
// keys, claims, problems), for both directions: the bridge client encodes requests and decodes
// responses; the DICT simulator decodes requests and encodes responses. Element names and order
// follow the v2 OpenAPI schemas and BCB's XML examples. Decoders accept unknown elements (DICT may
// add fields, API evolution rules) but reject missing required elements and unknown enum values
// with XmlCodecError. This index keeps one import path for every codec.
export { XmlCodecError, parseXmlDocument } from './xml/common.js';
export * from './xml/entries.js';
export * from './xml/claims.js';
export * from './xml/problems.js';
export * from './xml/policies.js';
