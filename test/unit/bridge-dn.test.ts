// Issuer names compared by structure (bridge/dn.ts) and XMLDSig with certificates whose issuer
// names JDK signers quote or print as OIDs, in both directions: we verify a peer's spelling of
// the name (JDK, RFC 2253 with #hex, RFC 4514 escapes, aliases) and we write it as the JDK does.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { after, test } from 'node:test';
import { DnSyntaxError, javaDnString, parseDn, sameDnString } from '../../bridge/dn.js';
import { encodeGetEntryResponse } from '../../bridge/xml.js';
import { signXml, verifyXml, x509IssuerName, XmlSignatureError } from '../../bridge/xmldsig.js';
import { ODD_NAMES, oddSigner, type OddSigner } from '../support/odd-names.js';

const made: OddSigner[] = [];
const signer = (subj: string, serial: string): OddSigner => {
  const s = oddSigner(subj, serial);
  made.push(s);
  return s;
};
after(() => made.forEach((s) => rmSync(s.dir, { recursive: true, force: true })));

const doc = () =>
  encodeGetEntryResponse({
    correlationId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
    responseTime: '2026-01-01T00:00:00Z',
    entry: {
      key: 'a@b.com',
      keyType: 'EMAIL',
      account: { participant: '87654321', branch: '0001', accountNumber: '1', accountType: 'CACC', openingDate: '2020-01-01T00:00:00Z' },
      owner: { type: 'LEGAL_PERSON', taxIdNumber: '11222333000181', name: 'Banco, "Exemplo"', tradeName: 'x' },
      creationDate: '2020-01-01T00:00:00Z',
      keyOwnershipDate: '2020-01-01T00:00:00Z',
    },
  } as Parameters<typeof encodeGetEntryResponse>[0]);

test('one name, many spellings: JDK quotes and OID.n, RFC 2253 #hex and escapes, RFC 1779 ";", aliases, order', () => {
  const java = 'CN=DICT Signer, OID.2.5.4.97=OFBBR-12345678, OU="two  spaces", OU="a=b", O="Banco Exemplo, S.A.", C=BR';
  const spellings = [
    'CN=DICT Signer,2.5.4.97=#0c0e4f464242522d3132333435363738,OU=two  spaces,OU=a\\=b,O=Banco Exemplo\\, S.A.,C=BR',
    'cn=DICT Signer; organizationIdentifier=OFBBR-12345678; ou=two  spaces; ou=a=b; o="Banco Exemplo, S.A."; c=BR',
    'C=BR, O=Banco Exemplo\\2C S.A., OU=a\\3Db, OU="two  spaces", 2.5.4.97=#130e4f464242522d3132333435363738, CN = DICT Signer',
  ];
  for (const s of spellings) assert.ok(sameDnString(java, s), s);
  assert.ok(sameDnString('ST=SP, E=a@b.com, S=x', 'EMAILADDRESS=a@b.com, ST=x, STATEORPROVINCENAME=SP'));
  // The old comma split saw "Banco Exemplo" and " S.A." as two RDNs.
  assert.equal(parseDn(java).length, 6);
  for (const other of ['CN=DICT Signer, OU="two spaces", OU="a=b", O="Banco Exemplo, S.A.", C=BR, OID.2.5.4.97=OFBBR-12345678', 'CN=DICT Signer, O="Banco Exemplo, S.A.", C=BR']) {
    assert.ok(!sameDnString(java, other), other);
  }
  for (const bad of ['CN="open', 'CN', 'C N=x', '=x', 'CN=a\\']) assert.throws(() => parseDn(bad), DnSyntaxError, bad);
});

test('X509IssuerName is written as the JDK prints it (X500Principal.toString)', () => {
  for (const [name, n] of Object.entries(ODD_NAMES)) {
    const s = signer(n.subj, '01');
    const cert = new X509Certificate(s.certPem);
    assert.equal(x509IssuerName(cert), n.java, name);
    assert.equal(javaDnString(parseDn(cert.issuer, { lines: true })), n.java, name);
  }
});

test('odd issuer names verify whatever spelling the signer used; our own spelling too', () => {
  const s = signer(ODD_NAMES.quotedComma.subj, '1a2b3c4d5e6f');
  const pinned = [s.certPem];
  for (const issuerName of [
    undefined,
    ODD_NAMES.quotedComma.java,
    'CN=DICT Signer,2.5.4.97=#0c0e4f464242522d3132333435363738,OU=two  spaces,OU=a\\=b,O=Banco Exemplo\\, S.A.,C=BR',
    'C=BR,O=Banco Exemplo\\, S.A.,OU=a\\=b,OU=two  spaces,organizationIdentifier=OFBBR-12345678,CN=DICT Signer',
  ]) {
    const signed = signXml(doc(), s, { issuerName });
    assert.equal(verifyXml(signed, pinned).signerCertPem, s.certPem, issuerName ?? 'default');
  }
  const e = signer(ODD_NAMES.escapes.subj, '77');
  assert.equal(verifyXml(signXml(doc(), e), [s.certPem, e.certPem]).signerCertPem, e.certPem);
});

test('selection by serial: the name breaks ties, and trust still comes only from the pinned key', () => {
  const a = signer(ODD_NAMES.quotedComma.subj, '0abc');
  const b = signer(ODD_NAMES.escapes.subj, '0abc'); // same serial, other issuer
  const twin = signer(ODD_NAMES.quotedComma.subj, '0abc'); // same serial and issuer, other key: not pinned
  assert.equal(verifyXml(signXml(doc(), a), [b.certPem, a.certPem]).signerCertPem, a.certPem);
  assert.equal(verifyXml(signXml(doc(), b), [a.certPem, b.certPem]).signerCertPem, b.certPem);
  // A name that does not parse, with one pinned certificate of that serial: the key decides.
  assert.equal(verifyXml(signXml(doc(), a, { issuerName: 'CN="unterminated' }), [a.certPem]).signerCertPem, a.certPem);
  // Two pinned certificates share the serial and the name matches neither: refused.
  assert.throws(() => verifyXml(signXml(doc(), a, { issuerName: 'CN=nobody' }), [a.certPem, b.certPem]), /not trusted/);
  // Same serial and issuer, another key: the pinned key does not verify it.
  assert.throws(() => verifyXml(signXml(doc(), twin), [a.certPem]), XmlSignatureError);
  // A serial nobody pinned: refused before any key is tried.
  const stranger = signer(ODD_NAMES.quotedComma.subj, '0abd');
  assert.throws(() => verifyXml(signXml(doc(), stranger), [a.certPem]), /not trusted/);
});
