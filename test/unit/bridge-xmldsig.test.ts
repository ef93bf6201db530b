// XMLDSig: BCB's signature shape, verification against pinned certs only, and rejection of
// tampered, unsigned, wrapped and untrusted messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { XmlSignatureError, signXml, verifyXml } from '../../bridge/xmldsig.js';
import { decodeCreateEntryRequest, encodeCreateEntryRequest, encodeGetEntryResponse, encodeProblem } from '../../bridge/xml.js';
import type { CreateEntryInput } from '../../bridge/types.js';
import { OUR_ISPB, testPki } from '../support/pki.js';

const pki = testPki();
const ours = pki.participants[OUR_ISPB]!;
const other = pki.participants['87654321']!;
const DS = 'http://www.w3.org/2000/09/xmldsig#';

const input: CreateEntryInput = {
  entry: {
    key: '+5561988880000',
    keyType: 'PHONE',
    account: { participant: OUR_ISPB, branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2010-01-10T03:00:00Z' },
    owner: { type: 'NATURAL_PERSON', taxIdNumber: '11122233396', name: 'João Silva' },
  },
  reason: 'USER_REQUESTED',
  requestId: 'a946d533-7f22-42a5-9a9b-e87cd55c0f4d',
};

function rejects(fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof XmlSignatureError, `expected XmlSignatureError, got ${String(e)}`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

test('sign -> verify returns the pinned signer cert and keeps the content', () => {
  const signed = signXml(encodeCreateEntryRequest(input), ours);
  const { signerCertPem } = verifyXml(signed, [pki.dict.certPem, other.certPem, ours.certPem]);
  assert.equal(signerCertPem, ours.certPem);
  assert.deepEqual(decodeCreateEntryRequest(signed), input);
  // Each participant resolves to its own cert (simulator identifies callers this way).
  assert.equal(verifyXml(signXml(encodeCreateEntryRequest(input), other), [ours.certPem, other.certPem]).signerCertPem, other.certPem);
});

test('signature has BCB shape: first child, exc-c14n, RSA-SHA256, #key-info-id + whole-document refs, IssuerSerial', () => {
  const signed = signXml(encodeCreateEntryRequest(input), ours);
  const root = new DOMParser().parseFromString(signed, 'text/xml').documentElement;
  const first = Array.from(root.childNodes).find((n) => n.nodeType === 1) as Element;
  assert.equal(first.localName, 'Signature');
  assert.equal(first.namespaceURI, DS);
  assert.equal(first.prefix, 'ds');
  assert.equal(root.getElementsByTagName('Signature').length, 0, 'placeholder removed');
  const alg = (name: string) => Array.from(first.getElementsByTagNameNS(DS, name)).map((e) => e.getAttribute('Algorithm'));
  assert.deepEqual(alg('CanonicalizationMethod'), ['http://www.w3.org/2001/10/xml-exc-c14n#']);
  assert.deepEqual(alg('SignatureMethod'), ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256']);
  assert.deepEqual(alg('DigestMethod'), ['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha256']);
  const refs = Array.from(first.getElementsByTagNameNS(DS, 'Reference')).map((r) => r.getAttribute('URI'));
  assert.deepEqual(refs, ['#key-info-id', '']);
  const keyInfo = first.getElementsByTagNameNS(DS, 'KeyInfo')[0]!;
  assert.equal(keyInfo.getAttribute('Id'), 'key-info-id');
  const cert = new X509Certificate(ours.certPem);
  assert.equal(keyInfo.getElementsByTagNameNS(DS, 'X509SerialNumber')[0]!.textContent, BigInt(`0x${cert.serialNumber}`).toString());
  assert.match(keyInfo.getElementsByTagNameNS(DS, 'X509IssuerName')[0]!.textContent ?? '', /CN=/);
});

test('tampering with a text node -> XmlSignatureError', () => {
  const signed = signXml(encodeCreateEntryRequest(input), ours);
  assert.ok(signed.includes('<Participant>12345678</Participant>'));
  rejects(() => verifyXml(signed.replace('<Participant>12345678</Participant>', '<Participant>87654321</Participant>'), [ours.certPem]));
  rejects(() => verifyXml(signed.replace('João Silva', 'Joao Silva'), [ours.certPem]));
  // Changing the KeyInfo (signed via #key-info-id) breaks it too.
  rejects(() => verifyXml(signed.replace(/<ds:X509SerialNumber>\d+/, '$&0'), [ours.certPem]));
});

test('signed by a cert that is not pinned -> XmlSignatureError', () => {
  const signed = signXml(encodeCreateEntryRequest(input), other);
  rejects(() => verifyXml(signed, [ours.certPem, pki.dict.certPem]), /not trusted/);
  rejects(() => verifyXml(signed, []), /not trusted/);
});

test('an embedded certificate is never trusted by itself', () => {
  // Attacker signs with their own key and embeds their own cert: must fail against our pins.
  const signed = signXml(encodeCreateEntryRequest(input), other);
  const b64 = other.certPem.replace(/-----[^-]+-----|\s/g, '');
  const withCert = signed.replace('<ds:X509Data>', `<ds:X509Data><ds:X509Certificate>${b64}</ds:X509Certificate>`);
  rejects(() => verifyXml(withCert, [ours.certPem]));
});

test('unsigned, placeholder-only and malformed messages -> XmlSignatureError', () => {
  rejects(() => verifyXml(encodeCreateEntryRequest(input), [ours.certPem]), /not signed/);
  rejects(() => verifyXml('<CreateEntryRequest><Entry/></CreateEntryRequest>', [ours.certPem]), /not signed/);
  rejects(() => verifyXml('<oops', [ours.certPem]));
});

test('a signature that does not cover the whole document is rejected', () => {
  const signed = signXml(encodeGetEntryResponse({ entry: { ...input.entry, key: 'k', creationDate: 'a', keyOwnershipDate: 'b' } }), pki.dict);
  // Drop the URI="" reference: what remains (KeyInfo) still verifies cryptographically-shaped, but covers nothing.
  const onlyKeyInfo = signed.replace(/<ds:Reference URI="">.*?<\/ds:Reference>/, '');
  rejects(() => verifyXml(onlyKeyInfo, [pki.dict.certPem]), /whole document/);
});

test('signature moved away from the root, or duplicated, is rejected', () => {
  const signed = signXml(encodeCreateEntryRequest(input), ours);
  const sig = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0];
  const moved = signed.replace(sig, '').replace('<Entry>', `<Entry>${sig}`);
  rejects(() => verifyXml(moved, [ours.certPem]), /child of the root/);
  rejects(() => verifyXml(signed.replace('</CreateEntryRequest>', `${sig}</CreateEntryRequest>`), [ours.certPem]), /more than one/);
});

test('problem documents are signed and verified like any response', () => {
  const signed = signXml(encodeProblem({ bcbError: 'NotFound', title: 'Not found', status: 404 }), pki.dict);
  assert.match(signed, /^<\?xml[^>]*\?>\s*<problem xmlns="urn:ietf:rfc:7807"><ds:Signature/);
  assert.equal(verifyXml(signed, [pki.dict.certPem]).signerCertPem, pki.dict.certPem);
  rejects(() => verifyXml(signed.replace('404', '400'), [pki.dict.certPem]));
});

test('verification tolerates BCB-style base64 line breaks in SignatureValue', () => {
  const signed = signXml(encodeCreateEntryRequest(input), ours);
  const wrapped = signed.replace(/<ds:SignatureValue>([^<]+)<\/ds:SignatureValue>/, (_m, v: string) => `<ds:SignatureValue>${v.replace(/(.{76})/g, '$1\n')}</ds:SignatureValue>`);
  assert.notEqual(wrapped, signed);
  assert.equal(verifyXml(wrapped, [ours.certPem]).signerCertPem, ours.certPem);
});

test('signing an already-signed document is refused', () => {
  const signed = signXml(encodeCreateEntryRequest(input), ours);
  rejects(() => signXml(signed, ours), /already signed/);
});
