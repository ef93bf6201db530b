// The claims codec against BCB's own XML: every claims/* example (API 1.8, whose claim messages v2
// keeps unchanged) and the v2 OpenAPI's inline claim examples decode to the values in the file
// (read independently through a plain DOM) and round-trip; broken claim XML fails with XmlCodecError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import {
  XmlCodecError,
  decodeAcknowledgeClaimRequest,
  decodeAcknowledgeClaimResponse,
  decodeCancelClaimRequest,
  decodeCancelClaimResponse,
  decodeCompleteClaimRequest,
  decodeCompleteClaimResponse,
  decodeConfirmClaimRequest,
  decodeConfirmClaimResponse,
  decodeCreateClaimRequest,
  decodeCreateClaimResponse,
  decodeGetClaimResponse,
  decodeListClaimsResponse,
  encodeAcknowledgeClaimRequest,
  encodeAcknowledgeClaimResponse,
  encodeCancelClaimRequest,
  encodeCancelClaimResponse,
  encodeCompleteClaimRequest,
  encodeCompleteClaimResponse,
  encodeConfirmClaimRequest,
  encodeConfirmClaimResponse,
  encodeCreateClaimRequest,
  encodeCreateClaimResponse,
  encodeGetClaimResponse,
  encodeListClaimsResponse,
} from '../../bridge/xml.js';
import type { Claim, ExtendedClaim } from '../../domain/types.js';
import { referencePath, referenceSkip } from '../support/reference.js';

const skip = referenceSkip('bacen-dict-api/openapi/examples/claims');
const skipV2 = referenceSkip('bacen-dict-v2/openapi-dict-2.6.1.json');
const CLAIMS = referencePath('bacen-dict-api/openapi/examples/claims');

function dom(xml: string): Element {
  return new DOMParser().parseFromString(xml, 'text/xml').documentElement;
}
function el(root: Element, path: string): Element | undefined {
  let e: Element | undefined = root;
  for (const seg of path.split('/')) {
    e = e && (Array.from(e.childNodes).find((n) => n.nodeType === 1 && (n as Element).localName === seg) as Element | undefined);
  }
  return e;
}
const at = (root: Element, path: string): string | undefined => el(root, path)?.textContent ?? undefined;

function assertClaimMatches(c: Claim | ExtendedClaim, x: Element): void {
  assert.equal(c.type, at(x, 'Type'));
  assert.equal(c.key, at(x, 'Key'));
  assert.equal(c.keyType, at(x, 'KeyType'));
  for (const [f, e] of [['participant', 'Participant'], ['branch', 'Branch'], ['accountNumber', 'AccountNumber'], ['accountType', 'AccountType'], ['openingDate', 'OpeningDate']] as const) {
    assert.equal(c.claimerAccount[f], at(x, `ClaimerAccount/${e}`), `ClaimerAccount/${e}`);
  }
  for (const [f, e] of [['type', 'Type'], ['taxIdNumber', 'TaxIdNumber'], ['name', 'Name'], ['tradeName', 'TradeName']] as const) {
    assert.equal(c.claimer[f], at(x, `Claimer/${e}`), `Claimer/${e}`);
  }
  if ('id' in c) {
    for (const [f, e] of [
      ['donorParticipant', 'DonorParticipant'], ['id', 'Id'], ['status', 'Status'], ['resolutionPeriodEnd', 'ResolutionPeriodEnd'],
      ['completionPeriodEnd', 'CompletionPeriodEnd'], ['lastModified', 'LastModified'], ['confirmReason', 'ConfirmReason'],
      ['cancelReason', 'CancelReason'], ['cancelledBy', 'CancelledBy'],
    ] as const) {
      assert.equal(c[f], at(x, e), e);
    }
  }
}

function meta(d: { responseTime?: string; correlationId?: string }, root: Element): void {
  assert.equal(d.responseTime, at(root, 'ResponseTime'));
  assert.equal(d.correlationId, at(root, 'CorrelationId'));
}

type Check = (xml: string, root: Element) => void;

function claimResponse(decode: (x: string) => { claim: ExtendedClaim; responseTime?: string; correlationId?: string }, encode: (r: any) => string): Check {
  return (xml, root) => {
    const d = decode(xml);
    assertClaimMatches(d.claim, el(root, 'Claim')!);
    meta(d, root);
    assert.deepEqual(decode(encode(d)), d, 'round trip');
  };
}

function decision(decode: (x: string) => object, encode: (i: any) => string): Check {
  return (xml, root) => {
    const d = decode(xml) as Record<string, string>;
    assert.equal(d['claimId'], at(root, 'ClaimId'));
    assert.equal(d['participant'], at(root, 'Participant'));
    for (const [f, e] of [['reason', 'Reason'], ['requestId', 'RequestId']] as const) assert.equal(d[f], at(root, e), e);
    assert.deepEqual(decode(encode(d)), d, 'round trip');
  };
}

const CHECKS: Record<string, Check> = {
  CreateClaimRequest(xml, root) {
    const d = decodeCreateClaimRequest(xml);
    assertClaimMatches(d.claim, el(root, 'Claim')!);
    assert.deepEqual(decodeCreateClaimRequest(encodeCreateClaimRequest(d)), d, 'round trip');
  },
  CreateClaimResponse: claimResponse(decodeCreateClaimResponse, encodeCreateClaimResponse),
  GetClaimResponse: claimResponse(decodeGetClaimResponse, encodeGetClaimResponse),
  AcknowledgeClaimResponse: claimResponse(decodeAcknowledgeClaimResponse, encodeAcknowledgeClaimResponse),
  ConfirmClaimResponse: claimResponse(decodeConfirmClaimResponse, encodeConfirmClaimResponse),
  CancelClaimResponse: claimResponse(decodeCancelClaimResponse, encodeCancelClaimResponse),
  CompleteClaimResponse(xml, root) {
    const d = decodeCompleteClaimResponse(xml);
    assertClaimMatches(d.claim, el(root, 'Claim')!);
    meta(d, root);
    assert.equal(d.entryCreationDate, at(root, 'EntryCreationDate'));
    assert.equal(d.keyOwnershipDate, at(root, 'KeyOwnershipDate'));
    assert.deepEqual(decodeCompleteClaimResponse(encodeCompleteClaimResponse(d)), d, 'round trip');
  },
  ListClaimsResponse(xml, root) {
    const d = decodeListClaimsResponse(xml);
    meta(d, root);
    assert.equal(String(d.hasMoreElements), at(root, 'HasMoreElements'));
    const xs = Array.from(el(root, 'Claims')!.childNodes).filter((n) => n.nodeType === 1) as Element[];
    assert.equal(d.claims.length, xs.length);
    assert.ok(d.claims.length > 0);
    d.claims.forEach((c, i) => assertClaimMatches(c, xs[i]!));
    assert.deepEqual(decodeListClaimsResponse(encodeListClaimsResponse(d)), d, 'round trip');
  },
  AcknowledgeClaimRequest: decision(decodeAcknowledgeClaimRequest, encodeAcknowledgeClaimRequest),
  ConfirmClaimRequest: decision(decodeConfirmClaimRequest, encodeConfirmClaimRequest),
  CancelClaimRequest: decision(decodeCancelClaimRequest, encodeCancelClaimRequest),
  CompleteClaimRequest: decision(decodeCompleteClaimRequest, encodeCompleteClaimRequest),
};

test('every claims/* example decodes to the values in the file and round-trips', { skip }, () => {
  const files = readdirSync(CLAIMS).filter((f) => f.endsWith('.xml'));
  assert.equal(files.length, 12, `the 12 official claim examples, found ${files.join(', ')}`);
  const seen = new Set<string>();
  for (const f of files) {
    const xml = readFileSync(join(CLAIMS, f), 'utf8');
    const root = dom(xml);
    const check = CHECKS[root.localName];
    assert.ok(check, `no decoder for ${f} (<${root.localName}>)`);
    check(xml, root);
    seen.add(root.localName);
  }
  assert.deepEqual([...seen].sort(), Object.keys(CHECKS).sort(), 'every claim message has an example');
});

test('the v2 OpenAPI inline claim examples decode too', { skip: skipV2 }, () => {
  const spec = JSON.parse(readFileSync(referencePath('bacen-dict-v2/openapi-dict-2.6.1.json'), 'utf8')) as { paths: Record<string, Record<string, any>> };
  let n = 0;
  for (const [p, ops] of Object.entries(spec.paths)) {
    if (!p.startsWith('/claims')) continue;
    for (const op of Object.values(ops)) {
      const bodies = [op?.requestBody?.content?.['application/xml'], ...Object.values(op?.responses ?? {}).map((r: any) => r?.content?.['application/xml'])];
      for (const b of bodies) {
        for (const ex of Object.values((b?.examples ?? {}) as Record<string, { value: string }>)) {
          const root = dom(ex.value);
          const check = CHECKS[root.localName];
          assert.ok(check, `no decoder for <${root.localName}> in ${p}`);
          check(ex.value, root);
          n++;
        }
      }
    }
  }
  assert.equal(n, 12);
});

test('claim XML without required elements or with unknown enum values fails with XmlCodecError', () => {
  const claim = (extra: string, drop = ''): string =>
    `<GetClaimResponse><Claim><Type>PORTABILITY</Type><Key>a@b.com</Key><KeyType>EMAIL</KeyType>` +
    `<ClaimerAccount><Participant>12345678</Participant><AccountNumber>1</AccountNumber><AccountType>CACC</AccountType><OpeningDate>2010-01-10T03:00:00Z</OpeningDate></ClaimerAccount>` +
    `<Claimer><Type>NATURAL_PERSON</Type><TaxIdNumber>11122233300</TaxIdNumber><Name>J</Name></Claimer>` +
    `<DonorParticipant>87654321</DonorParticipant><Id>x</Id><Status>OPEN</Status><ResolutionPeriodEnd>2020-01-17T10:00:00Z</ResolutionPeriodEnd><LastModified>2020-01-10T10:00:00Z</LastModified>${extra}</Claim></GetClaimResponse>`.replace(drop, '');
  const ok = decodeGetClaimResponse(claim(''));
  assert.equal(ok.claim.completionPeriodEnd, undefined);
  assert.equal(ok.claim.claimerAccount.branch, undefined);
  const bad = (xml: string, element: string): void => {
    assert.throws(() => decodeGetClaimResponse(xml), (e: unknown) => e instanceof XmlCodecError && e.element === element);
  };
  bad(claim('', '<Status>OPEN</Status>'), 'Status');
  bad(claim('', '<DonorParticipant>87654321</DonorParticipant>'), 'DonorParticipant');
  bad(claim('<CancelledBy>BOTH</CancelledBy>'), 'CancelledBy');
  bad(claim('<ConfirmReason>WHATEVER</ConfirmReason>'), 'ConfirmReason');
  bad(claim('').replace('<Status>OPEN', '<Status>PENDING'), 'Status');
  assert.throws(() => decodeListClaimsResponse('<ListClaimsResponse><HasMoreElements>maybe</HasMoreElements></ListClaimsResponse>'), XmlCodecError);
  assert.deepEqual(decodeListClaimsResponse('<ListClaimsResponse><HasMoreElements>false</HasMoreElements></ListClaimsResponse>'), { hasMoreElements: false, claims: [] });
  assert.throws(() => decodeCancelClaimRequest('<CancelClaimRequest><ClaimId>x</ClaimId><Participant>12345678</Participant><Reason>NOPE</Reason></CancelClaimRequest>'), (e: unknown) => e instanceof XmlCodecError && e.element === 'Reason');
  assert.throws(() => decodeCompleteClaimRequest('<CompleteClaimRequest><ClaimId>x</ClaimId><Participant>12345678</Participant></CompleteClaimRequest>'), (e: unknown) => e instanceof XmlCodecError && e.element === 'RequestId');
  assert.throws(() => decodeConfirmClaimRequest('<CancelClaimRequest/>'), XmlCodecError);
});
