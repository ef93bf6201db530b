// BCB DICT API v2 XML codec, one module for both directions: the bridge client encodes requests
// and decodes responses; the DICT simulator decodes requests and encodes responses.
// Element names and order follow the v2 OpenAPI schemas and BCB's XML examples. Decoders accept
// unknown elements (DICT may add fields, API evolution rules) but reject missing required
// elements and unknown enum values with XmlCodecError.
import { DOMParser } from '@xmldom/xmldom';
import {
  ACCOUNT_TYPES,
  ENTRY_OPERATION_REASONS,
  KEY_TYPES,
  PERSON_TYPES,
  type BrazilianAccount,
  type Entry,
  type ExtendedEntry,
  type Person,
} from '../domain/types.js';
import type {
  CheckKeysResult,
  CreateEntryInput,
  DeleteEntryInput,
  ResponseMeta,
  UpdateEntryInput,
  Violation,
} from './types.js';

/** Malformed XML, wrong root, or a missing/invalid element. `element` names the culprit. */
export class XmlCodecError extends Error {
  override readonly name = 'XmlCodecError';
  constructor(
    message: string,
    readonly element?: string,
  ) {
    super(message);
  }
}

/** BCB's problem `type` URIs: https://dict.pi.rsfn.net.br/api/v2/error/<Name>. */
export const PROBLEM_TYPE_BASE = 'https://dict.pi.rsfn.net.br/api/v2/error/';
/** RFC 7807 XML namespace BCB uses on <problem>. */
export const PROBLEM_NAMESPACE = 'urn:ietf:rfc:7807';

export interface Problem {
  /** Full type URI; encodeProblem derives it from bcbError when absent. */
  type?: string;
  /** BCB error name: last path segment of `type`. */
  bcbError: string;
  title: string;
  status: number;
  detail?: string;
  correlationId?: string;
  violations?: Violation[];
}

export type EntryResponse = { entry: ExtendedEntry } & ResponseMeta;
export type DeleteEntryResponse = { key: string } & ResponseMeta;
export type CheckKeysRequest = { keys: string[] };

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses XML with xmldom, throwing XmlCodecError on anything not well-formed. xmldom 0.8 only
 * *warns* about unclosed or mismatched tags, so warnings count as errors here. DOCTYPEs are
 * refused outright: DICT never sends one, and entity declarations are an attack surface.
 */
export function parseXmlDocument(xml: string): Document {
  if (typeof xml !== 'string' || xml.trim() === '') throw new XmlCodecError('empty XML document');
  if (/<!DOCTYPE/i.test(xml)) throw new XmlCodecError('DOCTYPE is not allowed in DICT XML');
  const errors: string[] = [];
  const doc = new DOMParser({
    errorHandler: {
      warning: (m: unknown) => errors.push(String(m)),
      error: (m: unknown) => errors.push(String(m)),
      fatalError: (m: unknown) => errors.push(String(m)),
    },
  }).parseFromString(xml, 'text/xml');
  if (errors.length > 0) throw new XmlCodecError(`malformed XML: ${errors[0]!.split('\n')[0]!.replace(/^\[xmldom \w+\]\s*/, '')}`);
  if (!doc || !doc.documentElement) throw new XmlCodecError('malformed XML: no root element');
  return doc;
}

function rootOf(xml: string, name: string): Element {
  const root = parseXmlDocument(xml).documentElement;
  if (root.localName !== name) {
    throw new XmlCodecError(`expected root <${name}>, got <${root.localName}>`, name);
  }
  return root;
}

function children(el: Element, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
}

function child(el: Element, name: string): Element | undefined {
  return children(el, name)[0];
}

function path(el: Element, name: string): string {
  const parts: string[] = [name];
  for (let n: Node | null = el; n && n.nodeType === 1; n = n.parentNode) parts.unshift((n as Element).localName);
  return parts.join('/');
}

function reqEl(el: Element, name: string): Element {
  const c = child(el, name);
  if (!c) throw new XmlCodecError(`missing required element <${path(el, name)}>`, name);
  return c;
}

function optText(el: Element, name: string): string | undefined {
  const c = child(el, name);
  if (!c) return undefined;
  const t = c.textContent ?? '';
  return t.trim() === '' ? undefined : t;
}

function reqText(el: Element, name: string): string {
  const t = optText(el, name);
  if (t === undefined) throw new XmlCodecError(`missing required element <${path(el, name)}>`, name);
  return t;
}

function reqEnum<T extends string>(el: Element, name: string, allowed: readonly T[]): T {
  const t = reqText(el, name).trim();
  if (!(allowed as readonly string[]).includes(t)) {
    throw new XmlCodecError(`invalid value "${t}" in <${path(el, name)}>; expected one of ${allowed.join(', ')}`, name);
  }
  return t as T;
}

function reqInt(el: Element, name: string): number {
  const t = reqText(el, name).trim();
  if (!/^-?\d+$/.test(t)) throw new XmlCodecError(`invalid integer "${t}" in <${path(el, name)}>`, name);
  return Number(t);
}

// ---------------------------------------------------------------------------------------------
// Writing

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#xD;');
}

function tag(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<${name}>${esc(value)}</${name}>`;
}

const DECL = '<?xml version="1.0" encoding="UTF-8"?>';
/** Empty placeholder that signXml replaces with <ds:Signature>, as in BCB's examples. */
const SIGNATURE_PLACEHOLDER = '<Signature></Signature>';

function doc(root: string, body: string, signed = true): string {
  return `${DECL}<${root}>${signed ? SIGNATURE_PLACEHOLDER : ''}${body}</${root}>`;
}

function metaXml(m: ResponseMeta): string {
  return tag('ResponseTime', m.responseTime) + tag('CorrelationId', m.correlationId);
}

function readMeta(root: Element): ResponseMeta {
  const out: ResponseMeta = {};
  const rt = optText(root, 'ResponseTime');
  const ci = optText(root, 'CorrelationId');
  if (rt !== undefined) out.responseTime = rt;
  if (ci !== undefined) out.correlationId = ci;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shared structures

function accountXml(a: BrazilianAccount): string {
  return (
    '<Account>' +
    tag('Participant', a.participant) +
    tag('Branch', a.branch) +
    tag('AccountNumber', a.accountNumber) +
    tag('AccountType', a.accountType) +
    tag('OpeningDate', a.openingDate) +
    '</Account>'
  );
}

function readAccount(el: Element): BrazilianAccount {
  const a: BrazilianAccount = {
    participant: reqText(el, 'Participant'),
    accountNumber: reqText(el, 'AccountNumber'),
    accountType: reqEnum(el, 'AccountType', ACCOUNT_TYPES),
    openingDate: reqText(el, 'OpeningDate'),
  };
  const branch = optText(el, 'Branch');
  if (branch !== undefined) a.branch = branch;
  return a;
}

function ownerXml(p: Person): string {
  return (
    '<Owner>' + tag('Type', p.type) + tag('TaxIdNumber', p.taxIdNumber) + tag('Name', p.name) + tag('TradeName', p.tradeName) + '</Owner>'
  );
}

function readOwner(el: Element): Person {
  const p: Person = {
    type: reqEnum(el, 'Type', PERSON_TYPES),
    taxIdNumber: reqText(el, 'TaxIdNumber'),
    name: reqText(el, 'Name'),
  };
  const trade = optText(el, 'TradeName');
  if (trade !== undefined) p.tradeName = trade;
  return p;
}

function entryXml(e: Entry): string {
  return '<Entry>' + tag('Key', e.key) + tag('KeyType', e.keyType) + accountXml(e.account) + ownerXml(e.owner) + '</Entry>';
}

function readEntry(el: Element): Entry {
  const e: Entry = {
    keyType: reqEnum(el, 'KeyType', KEY_TYPES),
    account: readAccount(reqEl(el, 'Account')),
    owner: readOwner(reqEl(el, 'Owner')),
  };
  const key = optText(el, 'Key');
  if (key !== undefined) e.key = key;
  return e;
}

function extendedEntryXml(e: ExtendedEntry): string {
  return (
    '<Entry>' +
    tag('Key', e.key) +
    tag('KeyType', e.keyType) +
    accountXml(e.account) +
    ownerXml(e.owner) +
    tag('CreationDate', e.creationDate) +
    tag('KeyOwnershipDate', e.keyOwnershipDate) +
    tag('OpenClaimCreationDate', e.openClaimCreationDate) +
    '</Entry>'
  );
}

function readExtendedEntry(el: Element): ExtendedEntry {
  const base = readEntry(el);
  const e: ExtendedEntry = {
    ...base,
    key: reqText(el, 'Key'),
    creationDate: reqText(el, 'CreationDate'),
    keyOwnershipDate: reqText(el, 'KeyOwnershipDate'),
  };
  const oc = optText(el, 'OpenClaimCreationDate');
  if (oc !== undefined) e.openClaimCreationDate = oc;
  return e;
}

function encodeEntryResponse(root: string, r: EntryResponse): string {
  return doc(root, metaXml(r) + extendedEntryXml(r.entry));
}

function decodeEntryResponse(root: string, xml: string): EntryResponse {
  const el = rootOf(xml, root);
  return { ...readMeta(el), entry: readExtendedEntry(reqEl(el, 'Entry')) };
}

// ---------------------------------------------------------------------------------------------
// createEntry: POST /entries/

export function encodeCreateEntryRequest(i: CreateEntryInput): string {
  return doc('CreateEntryRequest', entryXml(i.entry) + tag('Reason', i.reason) + tag('RequestId', i.requestId));
}

export function decodeCreateEntryRequest(xml: string): CreateEntryInput {
  const el = rootOf(xml, 'CreateEntryRequest');
  return {
    entry: readEntry(reqEl(el, 'Entry')),
    reason: reqEnum(el, 'Reason', ENTRY_OPERATION_REASONS),
    requestId: reqText(el, 'RequestId'),
  };
}

export function encodeCreateEntryResponse(r: EntryResponse): string {
  return encodeEntryResponse('CreateEntryResponse', r);
}

export function decodeCreateEntryResponse(xml: string): EntryResponse {
  return decodeEntryResponse('CreateEntryResponse', xml);
}

// ---------------------------------------------------------------------------------------------
// getEntry: GET /entries/{Key} (no request body). Statistics blocks are not decoded.

export function encodeGetEntryResponse(r: EntryResponse): string {
  return encodeEntryResponse('GetEntryResponse', { entry: r.entry, correlationId: r.correlationId, responseTime: r.responseTime });
}

export function decodeGetEntryResponse(xml: string): EntryResponse {
  return decodeEntryResponse('GetEntryResponse', xml);
}

// ---------------------------------------------------------------------------------------------
// updateEntry: PUT /entries/{Key}

export function encodeUpdateEntryRequest(i: UpdateEntryInput): string {
  return doc('UpdateEntryRequest', tag('Key', i.key) + accountXml(i.account) + ownerXml(i.owner) + tag('Reason', i.reason));
}

export function decodeUpdateEntryRequest(xml: string): UpdateEntryInput {
  const el = rootOf(xml, 'UpdateEntryRequest');
  return {
    key: reqText(el, 'Key'),
    account: readAccount(reqEl(el, 'Account')),
    owner: readOwner(reqEl(el, 'Owner')),
    reason: reqEnum(el, 'Reason', ENTRY_OPERATION_REASONS),
  };
}

export function encodeUpdateEntryResponse(r: EntryResponse): string {
  return encodeEntryResponse('UpdateEntryResponse', r);
}

export function decodeUpdateEntryResponse(xml: string): EntryResponse {
  return decodeEntryResponse('UpdateEntryResponse', xml);
}

// ---------------------------------------------------------------------------------------------
// deleteEntry: POST /entries/{Key}/delete

export function encodeDeleteEntryRequest(i: DeleteEntryInput): string {
  return doc('DeleteEntryRequest', tag('Key', i.key) + tag('Participant', i.participant) + tag('Reason', i.reason));
}

export function decodeDeleteEntryRequest(xml: string): DeleteEntryInput {
  const el = rootOf(xml, 'DeleteEntryRequest');
  return {
    key: reqText(el, 'Key'),
    participant: reqText(el, 'Participant'),
    reason: reqEnum(el, 'Reason', ENTRY_OPERATION_REASONS),
  };
}

export function encodeDeleteEntryResponse(r: DeleteEntryResponse): string {
  return doc('DeleteEntryResponse', metaXml(r) + tag('Key', r.key));
}

export function decodeDeleteEntryResponse(xml: string): DeleteEntryResponse {
  const el = rootOf(xml, 'DeleteEntryResponse');
  return { ...readMeta(el), key: reqText(el, 'Key') };
}

// ---------------------------------------------------------------------------------------------
// checkKeys: POST /keys/check. A query: BCB's request schema has no Signature, so none is added.

/** BCB's CheckKeysRequest limits: Keys minItems 1, maxItems 200. */
export const CHECK_KEYS_MAX = 200;

export function encodeCheckKeysRequest(r: CheckKeysRequest): string {
  return doc('CheckKeysRequest', '<Keys>' + r.keys.map((k) => tag('Key', k)).join('') + '</Keys>', false);
}

export function decodeCheckKeysRequest(xml: string): CheckKeysRequest {
  const el = rootOf(xml, 'CheckKeysRequest');
  const keys = children(reqEl(el, 'Keys'), 'Key').map((k) => k.textContent ?? '');
  if (keys.length < 1 || keys.length > CHECK_KEYS_MAX) {
    throw new XmlCodecError(`<CheckKeysRequest/Keys> must hold 1..${CHECK_KEYS_MAX} <Key>, got ${keys.length}`, 'Keys');
  }
  if (keys.some((k) => k.trim() === '')) throw new XmlCodecError('empty <CheckKeysRequest/Keys/Key>', 'Key');
  return { keys };
}

export function encodeCheckKeysResponse(r: CheckKeysResult): string {
  const keys = r.keys.map((k) => `<Key hasEntry="${k.hasEntry ? 'true' : 'false'}">${esc(k.key)}</Key>`).join('');
  return doc('CheckKeysResponse', metaXml(r) + `<Keys>${keys}</Keys>`);
}

export function decodeCheckKeysResponse(xml: string): CheckKeysResult {
  const el = rootOf(xml, 'CheckKeysResponse');
  const keys = children(reqEl(el, 'Keys'), 'Key').map((k) => {
    const has = k.getAttribute('hasEntry');
    if (has !== 'true' && has !== 'false') {
      throw new XmlCodecError(`invalid hasEntry "${has ?? ''}" on <CheckKeysResponse/Keys/Key>`, 'hasEntry');
    }
    return { key: k.textContent ?? '', hasEntry: has === 'true' };
  });
  return { ...readMeta(el), keys };
}

// ---------------------------------------------------------------------------------------------
// Problems (RFC 7807, application/problem+xml)

export function problemType(bcbError: string): string {
  return PROBLEM_TYPE_BASE + bcbError;
}

/** BCB error name from a problem type URI: its last path segment. */
export function bcbErrorFromType(type: string): string {
  const seg = type.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() ?? '';
  return seg === '' ? type : seg;
}

export function encodeProblem(p: Problem): string {
  const violations =
    p.violations && p.violations.length > 0
      ? '<violations>' +
        p.violations.map((v) => '<violation>' + tag('reason', v.reason) + tag('value', v.value) + tag('property', v.property) + '</violation>').join('') +
        '</violations>'
      : '';
  return (
    `${DECL}<problem xmlns="${PROBLEM_NAMESPACE}">${SIGNATURE_PLACEHOLDER}` +
    tag('type', p.type ?? problemType(p.bcbError)) +
    tag('title', p.title) +
    tag('status', String(p.status)) +
    tag('detail', p.detail) +
    tag('correlationId', p.correlationId) +
    violations +
    '</problem>'
  );
}

export function decodeProblem(xml: string): Problem & { type: string } {
  const el = rootOf(xml, 'problem');
  const type = reqText(el, 'type').trim();
  const p: Problem & { type: string } = { type, bcbError: bcbErrorFromType(type), title: reqText(el, 'title'), status: reqInt(el, 'status') };
  const detail = optText(el, 'detail');
  const correlationId = optText(el, 'correlationId');
  if (detail !== undefined) p.detail = detail;
  if (correlationId !== undefined) p.correlationId = correlationId;
  const vs = child(el, 'violations');
  if (vs) {
    p.violations = children(vs, 'violation').map((v) => {
      const out: Violation = { reason: reqText(v, 'reason') };
      const value = optText(v, 'value');
      const property = optText(v, 'property');
      if (value !== undefined) out.value = value;
      if (property !== undefined) out.property = property;
      return out;
    });
  }
  return p;
}
