// Entries and keys codec (createEntry, getEntry, updateEntry, deleteEntry, checkKeys), both
// directions: the bridge client encodes requests and decodes responses; the simulator the reverse.
import { ENTRY_OPERATION_REASONS, KEY_TYPES, type Entry, type ExtendedEntry } from '../../domain/types.js';
import type { CheckKeysResult, CreateEntryInput, DeleteEntryInput, ResponseMeta, UpdateEntryInput } from '../types.js';
import {
  XmlCodecError,
  accountXml,
  children,
  doc,
  esc,
  metaXml,
  optText,
  ownerXml,
  readAccount,
  readMeta,
  readOwner,
  reqEl,
  reqEnum,
  reqText,
  rootOf,
  tag,
} from './common.js';

export type EntryResponse = { entry: ExtendedEntry } & ResponseMeta;
export type DeleteEntryResponse = { key: string } & ResponseMeta;
export type CheckKeysRequest = { keys: string[] };

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

