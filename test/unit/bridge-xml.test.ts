// The codec against BCB's own XML: every official example parses; entries/keys examples decode to
// the values in the file (read independently through a plain DOM); BCB's problem+xml examples
// decode; every message round-trips; malformed or incomplete XML fails with XmlCodecError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import {
  XmlCodecError,
  decodeCheckKeysRequest,
  decodeCheckKeysResponse,
  decodeCreateEntryRequest,
  decodeCreateEntryResponse,
  decodeDeleteEntryRequest,
  decodeDeleteEntryResponse,
  decodeGetEntryResponse,
  decodeProblem,
  decodeUpdateEntryRequest,
  decodeUpdateEntryResponse,
  encodeCheckKeysRequest,
  encodeCheckKeysResponse,
  encodeCreateEntryRequest,
  encodeCreateEntryResponse,
  encodeDeleteEntryRequest,
  encodeDeleteEntryResponse,
  encodeGetEntryResponse,
  encodeProblem,
  encodeUpdateEntryRequest,
  encodeUpdateEntryResponse,
  parseXmlDocument,
} from '../../bridge/xml.js';
import type { Entry, ExtendedEntry } from '../../domain/types.js';
import { referencePath, referenceSkip } from '../support/reference.js';

const skip = referenceSkip('bacen-dict-api/openapi/examples');
const REF = referencePath('.');
const EXAMPLES = referencePath('bacen-dict-api/openapi/examples');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : n.endsWith('.xml') ? [p] : [];
  });
}

// Independent reader: plain xmldom, no codec code involved.
function dom(xml: string): Element {
  return new DOMParser().parseFromString(xml, 'text/xml').documentElement;
}
function at(root: Element, path: string): string | undefined {
  let el: Element | undefined = root;
  for (const seg of path.split('/')) {
    el = el && (Array.from(el.childNodes).find((n) => n.nodeType === 1 && (n as Element).localName === seg) as Element | undefined);
  }
  return el?.textContent ?? undefined;
}

function assertEntryMatches(decoded: Entry, root: Element, prefix: string): void {
  assert.equal(decoded.key, at(root, `${prefix}/Key`));
  assert.equal(decoded.keyType, at(root, `${prefix}/KeyType`));
  for (const [f, e] of [
    ['participant', 'Participant'],
    ['branch', 'Branch'],
    ['accountNumber', 'AccountNumber'],
    ['accountType', 'AccountType'],
    ['openingDate', 'OpeningDate'],
  ] as const) {
    assert.equal(decoded.account[f], at(root, `${prefix}/Account/${e}`), `${prefix}/Account/${e}`);
  }
  for (const [f, e] of [
    ['type', 'Type'],
    ['taxIdNumber', 'TaxIdNumber'],
    ['name', 'Name'],
    ['tradeName', 'TradeName'],
  ] as const) {
    assert.equal(decoded.owner[f], at(root, `${prefix}/Owner/${e}`), `${prefix}/Owner/${e}`);
  }
}

function assertMetaMatches(decoded: { responseTime?: string; correlationId?: string }, root: Element): void {
  assert.equal(decoded.responseTime, at(root, 'ResponseTime'));
  assert.equal(decoded.correlationId, at(root, 'CorrelationId'));
}

// One checker per message type, chosen by the example's root element.
const CHECKS: Record<string, (xml: string, root: Element) => void> = {
  CreateEntryRequest(xml, root) {
    const d = decodeCreateEntryRequest(xml);
    assertEntryMatches(d.entry, root, 'Entry');
    assert.equal(d.reason, at(root, 'Reason'));
    assert.equal(d.requestId, at(root, 'RequestId'));
  },
  DeleteEntryRequest(xml, root) {
    const d = decodeDeleteEntryRequest(xml);
    assert.equal(d.key, at(root, 'Key'));
    assert.equal(d.participant, at(root, 'Participant'));
    assert.equal(d.reason, at(root, 'Reason'));
  },
  DeleteEntryResponse(xml, root) {
    const d = decodeDeleteEntryResponse(xml);
    assert.equal(d.key, at(root, 'Key'));
    assertMetaMatches(d, root);
  },
  CreateEntryResponse: entryResponseCheck(decodeCreateEntryResponse),
  GetEntryResponse: entryResponseCheck(decodeGetEntryResponse),
  UpdateEntryResponse: entryResponseCheck(decodeUpdateEntryResponse),
  CheckKeysRequest(xml, root) {
    const d = decodeCheckKeysRequest(xml);
    const keys = Array.from(root.getElementsByTagName('Key')).map((k) => k.textContent);
    assert.ok(keys.length > 0);
    assert.deepEqual(d.keys, keys);
  },
  CheckKeysResponse(xml, root) {
    const d = decodeCheckKeysResponse(xml);
    const keys = Array.from(root.getElementsByTagName('Key')).map((k) => ({ key: k.textContent, hasEntry: k.getAttribute('hasEntry') === 'true' }));
    assert.ok(keys.some((k) => k.hasEntry) && keys.some((k) => !k.hasEntry), 'example holds both answers');
    assert.deepEqual(d.keys, keys);
    assertMetaMatches(d, root);
  },
};

function entryResponseCheck(decode: (xml: string) => { entry: ExtendedEntry; responseTime?: string; correlationId?: string }) {
  return (xml: string, root: Element): void => {
    const d = decode(xml);
    assertEntryMatches(d.entry, root, 'Entry');
    assert.equal(d.entry.creationDate, at(root, 'Entry/CreationDate'));
    assert.equal(d.entry.keyOwnershipDate, at(root, 'Entry/KeyOwnershipDate'));
    assert.equal(d.entry.openClaimCreationDate, at(root, 'Entry/OpenClaimCreationDate'));
    assertMetaMatches(d, root);
  };
}

// UpdateEntryRequest has Key/Account/Owner at the root, not under <Entry>.
CHECKS['UpdateEntryRequest'] = (xml, root) => {
  const d = decodeUpdateEntryRequest(xml);
  assert.equal(d.key, at(root, 'Key'));
  assert.equal(d.reason, at(root, 'Reason'));
  assert.equal(d.account.participant, at(root, 'Account/Participant'));
  assert.equal(d.account.branch, at(root, 'Account/Branch'));
  assert.equal(d.account.accountNumber, at(root, 'Account/AccountNumber'));
  assert.equal(d.account.accountType, at(root, 'Account/AccountType'));
  assert.equal(d.account.openingDate, at(root, 'Account/OpeningDate'));
  assert.equal(d.owner.type, at(root, 'Owner/Type'));
  assert.equal(d.owner.taxIdNumber, at(root, 'Owner/TaxIdNumber'));
  assert.equal(d.owner.name, at(root, 'Owner/Name'));
};

test('every official XML example parses with parseXmlDocument', { skip }, () => {
  const files = walk(EXAMPLES);
  assert.ok(files.length >= 60, `expected the 62 official examples, found ${files.length}`);
  for (const f of files) {
    const doc = parseXmlDocument(readFileSync(f, 'utf8'));
    assert.ok(doc.documentElement.localName.length > 0, relative(EXAMPLES, f));
  }
});

test('every entries/* and keys/* example decodes to the values in the file', { skip }, () => {
  const files = [...walk(join(EXAMPLES, 'entries')), ...walk(join(EXAMPLES, 'keys'))];
  assert.ok(files.length >= 10);
  for (const f of files) {
    const xml = readFileSync(f, 'utf8');
    const root = dom(xml);
    const check = CHECKS[root.localName];
    assert.ok(check, `no decoder for ${relative(EXAMPLES, f)} (<${root.localName}>)`);
    check(xml, root);
  }
});

/** `value: |-` block scalars under application/problem+xml in responses.yaml (no YAML dependency). */
function problemExamplesFromYaml(yaml: string): string[] {
  const lines = yaml.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)value:\s*\|-?\s*$/.exec(lines[i]!);
    if (!m) continue;
    const indent = m[1]!.length;
    const block: string[] = [];
    for (i++; i < lines.length && (lines[i]!.trim() === '' || lines[i]!.search(/\S/) > indent); i++) block.push(lines[i]!);
    i--;
    const min = Math.min(...block.filter((l) => l.trim()).map((l) => l.search(/\S/)));
    const text = block.map((l) => l.slice(min)).join('\n').trim();
    if (text.includes('<problem')) out.push(text);
  }
  return out;
}

test('problem+xml examples in responses.yaml and the v2 OpenAPI decode', { skip }, () => {
  const yamlProblems = problemExamplesFromYaml(readFileSync(join(REF, 'bacen-dict-api/openapi/responses.yaml'), 'utf8'));
  assert.ok(yamlProblems.length >= 4, `found ${yamlProblems.length} problem examples in responses.yaml`);
  const v2 = JSON.parse(readFileSync(join(REF, 'bacen-dict-v2/openapi-dict-2.6.1.json'), 'utf8')) as {
    components: { responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: string }> }> }> };
  };
  const v2Problems = Object.values(v2.components.responses).flatMap((r) =>
    Object.values(r.content?.['application/problem+xml']?.examples ?? {}).map((e) => e.value),
  );
  assert.ok(v2Problems.length >= 4);
  for (const xml of [...yamlProblems, ...v2Problems]) {
    const root = dom(xml);
    const p = decodeProblem(xml);
    const type = at(root, 'type')!;
    assert.equal(p.type, type);
    assert.equal(p.bcbError, type.split('/').pop());
    assert.equal(p.title, at(root, 'title'));
    assert.equal(p.status, Number(at(root, 'status')));
    assert.equal(p.detail, at(root, 'detail'));
    const vs = Array.from(root.getElementsByTagName('violation'));
    assert.equal(p.violations?.length ?? 0, vs.length);
    vs.forEach((v, i) => {
      assert.equal(p.violations![i]!.reason, at(v, 'reason'));
      assert.equal(p.violations![i]!.value, at(v, 'value'));
      assert.equal(p.violations![i]!.property, at(v, 'property'));
    });
  }
  assert.ok(v2Problems.some((x) => decodeProblem(x).bcbError === 'EntryInvalid' && (decodeProblem(x).violations?.length ?? 0) > 0));
});

// ---------------------------------------------------------------------------------------------
// Round-trips

const legalEntry: ExtendedEntry = {
  key: 'contato@padaria.com.br',
  keyType: 'EMAIL',
  account: { participant: '87654321', accountNumber: '12345', accountType: 'TRAN', openingDate: '2021-03-04T03:00:00Z' },
  owner: { type: 'LEGAL_PERSON', taxIdNumber: '11222333000181', name: 'Padaria Três Irmãos & Filhos <Ltda>', tradeName: 'Padaria "3" Irmãos' },
  creationDate: '2022-01-01T10:00:00.000Z',
  keyOwnershipDate: '2022-01-02T10:00:00.000Z',
  openClaimCreationDate: '2022-02-03T10:00:00.000Z',
};
const naturalEntry: ExtendedEntry = {
  key: '+5561988887777',
  keyType: 'PHONE',
  account: { participant: '12345678', branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2010-01-10T03:00:00Z' },
  owner: { type: 'NATURAL_PERSON', taxIdNumber: '11122233396', name: "Maria D'Ávila" },
  creationDate: '2019-11-18T03:00:00Z',
  keyOwnershipDate: '2019-11-18T03:00:00Z',
};
const meta = { responseTime: '2024-05-06T07:08:09.123Z', correlationId: '0123456789abcdef0123456789abcdef' };

test('requests round-trip through encode/decode', () => {
  const evp: Entry = { keyType: 'EVP', account: naturalEntry.account, owner: naturalEntry.owner };
  for (const entry of [evp, { ...legalEntry }, { ...naturalEntry }]) {
    const { creationDate: _c, keyOwnershipDate: _k, openClaimCreationDate: _o, ...plain } = entry as ExtendedEntry;
    const input = { entry: plain as Entry, reason: 'USER_REQUESTED' as const, requestId: 'a946d533-7f22-42a5-9a9b-e87cd55c0f4d' };
    assert.deepEqual(decodeCreateEntryRequest(encodeCreateEntryRequest(input)), input);
  }
  assert.equal(decodeCreateEntryRequest(encodeCreateEntryRequest({ entry: { keyType: 'EVP', account: naturalEntry.account, owner: naturalEntry.owner }, reason: 'RECONCILIATION', requestId: 'x' })).entry.key, undefined);
  const upd = { key: legalEntry.key, account: legalEntry.account, owner: legalEntry.owner, reason: 'BRANCH_TRANSFER' as const };
  assert.deepEqual(decodeUpdateEntryRequest(encodeUpdateEntryRequest(upd)), upd);
  const del = { key: '+5561988887777', participant: '12345678', reason: 'ACCOUNT_CLOSURE' as const };
  assert.deepEqual(decodeDeleteEntryRequest(encodeDeleteEntryRequest(del)), del);
  const chk = { keys: ['a@b.com', '+5561999999999', '11122233396'] };
  assert.deepEqual(decodeCheckKeysRequest(encodeCheckKeysRequest(chk)), chk);
});

test('responses round-trip through encode/decode', () => {
  for (const entry of [legalEntry, naturalEntry]) {
    assert.deepEqual(decodeCreateEntryResponse(encodeCreateEntryResponse({ entry, ...meta })), { entry, ...meta });
    assert.deepEqual(decodeGetEntryResponse(encodeGetEntryResponse({ entry, ...meta })), { entry, ...meta });
    assert.deepEqual(decodeUpdateEntryResponse(encodeUpdateEntryResponse({ entry })), { entry });
  }
  assert.deepEqual(decodeDeleteEntryResponse(encodeDeleteEntryResponse({ key: 'k@x.io', ...meta })), { key: 'k@x.io', ...meta });
  const ck = { keys: [{ key: 'a@b.com', hasEntry: true }, { key: '+5561888888888', hasEntry: false }], ...meta };
  assert.deepEqual(decodeCheckKeysResponse(encodeCheckKeysResponse(ck)), ck);
  const p = {
    bcbError: 'EntryInvalid',
    title: 'Entry is invalid',
    status: 400,
    detail: 'Entry has <invalid> fields & more',
    correlationId: 'abc',
    violations: [{ reason: "Value does not match regex '^\\+[1-9]\\d{1,14}$'", value: '61988887777', property: 'entry.key' }, { reason: 'required' }],
  };
  assert.deepEqual(decodeProblem(encodeProblem(p)), { ...p, type: 'https://dict.pi.rsfn.net.br/api/v2/error/EntryInvalid' });
  const bare = decodeProblem(encodeProblem({ bcbError: 'RateLimited', title: 'Rate limited', status: 429 }));
  assert.deepEqual(bare, { type: 'https://dict.pi.rsfn.net.br/api/v2/error/RateLimited', bcbError: 'RateLimited', title: 'Rate limited', status: 429 });
  assert.match(encodeProblem(p), /<problem xmlns="urn:ietf:rfc:7807">/);
});

test('messages carry the Signature placeholder where BCB puts it; CheckKeysRequest does not', () => {
  for (const xml of [
    encodeCreateEntryRequest({ entry: naturalEntry, reason: 'USER_REQUESTED', requestId: 'r' }),
    encodeGetEntryResponse({ entry: naturalEntry }),
    encodeDeleteEntryResponse({ key: 'k' }),
  ]) {
    const first = Array.from(dom(xml).childNodes).find((n) => n.nodeType === 1) as Element;
    assert.equal(first.localName, 'Signature');
  }
  assert.doesNotMatch(encodeCheckKeysRequest({ keys: ['a'] }), /Signature/);
});

// ---------------------------------------------------------------------------------------------
// Rejections

function codecError(fn: () => unknown, element?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof XmlCodecError, `expected XmlCodecError, got ${String(e)}`);
    if (element) assert.equal(e.element, element);
    return true;
  });
}

test('malformed XML, DOCTYPEs and wrong roots are rejected', () => {
  codecError(() => parseXmlDocument('<a><b></a>'));
  codecError(() => parseXmlDocument(''));
  codecError(() => parseXmlDocument('not xml at all'));
  codecError(() => parseXmlDocument('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'));
  codecError(() => decodeCreateEntryResponse(encodeGetEntryResponse({ entry: naturalEntry })), 'CreateEntryResponse');
});

test('missing required elements and bad enums name the element', () => {
  const good = encodeCreateEntryRequest({ entry: naturalEntry, reason: 'USER_REQUESTED', requestId: 'r' });
  codecError(() => decodeCreateEntryRequest(good.replace(/<RequestId>.*<\/RequestId>/, '')), 'RequestId');
  codecError(() => decodeCreateEntryRequest(good.replace(/<AccountNumber>.*<\/AccountNumber>/, '')), 'AccountNumber');
  codecError(() => decodeCreateEntryRequest(good.replace('<KeyType>PHONE</KeyType>', '<KeyType>IBAN</KeyType>')), 'KeyType');
  codecError(() => decodeCreateEntryRequest(good.replace('<AccountType>CACC</AccountType>', '<AccountType>XXXX</AccountType>')), 'AccountType');
  codecError(() => decodeCreateEntryRequest(good.replace('USER_REQUESTED', 'BECAUSE')), 'Reason');
  codecError(() => decodeCreateEntryRequest(good.replace('NATURAL_PERSON', 'ROBOT')), 'Type');
  const resp = encodeGetEntryResponse({ entry: naturalEntry });
  codecError(() => decodeGetEntryResponse(resp.replace(/<CreationDate>.*<\/CreationDate>/, '')), 'CreationDate');
  codecError(() => decodeGetEntryResponse(resp.replace(/<Entry>.*<\/Entry>/, '')), 'Entry');
  codecError(() => decodeCheckKeysResponse(encodeCheckKeysResponse({ keys: [{ key: 'a', hasEntry: true }] }).replace('"true"', '"maybe"')), 'hasEntry');
  codecError(() => decodeCheckKeysRequest(encodeCheckKeysRequest({ keys: [] })), 'Keys');
  codecError(() => decodeCheckKeysRequest(encodeCheckKeysRequest({ keys: Array.from({ length: 201 }, (_, i) => `k${i}`) })), 'Keys');
  codecError(() => decodeProblem(encodeProblem({ bcbError: 'X', title: 't', status: 400 }).replace('<status>400</status>', '<status>bad</status>')), 'status');
});

test('unknown elements from newer DICT versions are ignored', () => {
  const xml = encodeGetEntryResponse({ entry: naturalEntry, ...meta }).replace('<Entry>', '<FutureField>x</FutureField><Entry><Extra>1</Extra>');
  assert.deepEqual(decodeGetEntryResponse(xml), { entry: naturalEntry, ...meta });
});
