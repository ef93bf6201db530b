// Interoperability with a JDK signer (test/interop/DictSigner.java: JSR 105, built the way BCB's
// reference signer is), compiled here with javac; skipped with a message when no JDK is found.
// Ordinary names: our signed document equals the JDK's byte for byte (RSA PKCS#1 v1.5 is
// deterministic; the JDK asked not to wrap base64). Odd names (quotes, OID.n, escapes,
// multi-valued RDNs): the JDK prints the issuer as we write it, we verify its signatures (with
// its usual &#13; line breaks) and it verifies ours.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeCreateEntryRequest, encodeGetEntryResponse } from '../../bridge/xml.js';
import { signXml, verifyXml, x509IssuerName } from '../../bridge/xmldsig.js';
import { ODD_NAMES, oddSigner, type OddSigner } from '../support/odd-names.js';

const source = join(__dirname, '..', '..', '..', 'test', 'interop', 'DictSigner.java');
const haveJdk = spawnSync('javac', ['-version'], { stdio: 'ignore' }).status === 0 && spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
const skip = haveJdk ? false : 'no JDK (javac/java) on PATH: JSR 105 interoperability not checked';

const work = mkdtempSync(join(tmpdir(), 'jsr105-'));
const made: OddSigner[] = [];
after(() => {
  rmSync(work, { recursive: true, force: true });
  made.forEach((s) => rmSync(s.dir, { recursive: true, force: true }));
});

let compiled = false;
function java(args: string[], opts: { noLineBreaks?: boolean } = {}): { status: number; stdout: string; stderr: string } {
  if (!compiled) {
    execFileSync('javac', ['-nowarn', '-d', join(work, 'classes'), source], { stdio: ['ignore', 'ignore', 'pipe'] });
    compiled = true;
  }
  const props = opts.noLineBreaks ? ['-Dcom.sun.org.apache.xml.internal.security.ignoreLineBreaks=true'] : [];
  const r = spawnSync('java', [...props, '-cp', join(work, 'classes'), 'DictSigner', ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
}

const signer = (subj: string, serial: string): OddSigner => {
  const s = oddSigner(subj, serial);
  made.push(s);
  return s;
};

const request = () =>
  encodeCreateEntryRequest({
    entry: {
      key: '+5561988880000',
      keyType: 'PHONE',
      account: { participant: '12345678', branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2010-01-10T03:00:00Z' },
      owner: { type: 'NATURAL_PERSON', taxIdNumber: '11122233396', name: 'João Silva' },
    },
    reason: 'USER_REQUESTED',
    requestId: 'a946d533-7f22-42a5-9a9b-e87cd55c0f4d',
  });

const response = () =>
  encodeGetEntryResponse({
    correlationId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
    responseTime: '2026-01-01T00:00:00Z',
    entry: {
      key: 'a@b.com',
      keyType: 'EMAIL',
      account: { participant: '87654321', branch: '0001', accountNumber: '1', accountType: 'CACC', openingDate: '2020-01-01T00:00:00Z' },
      owner: { type: 'LEGAL_PERSON', taxIdNumber: '11222333000181', name: 'Banco Exemplo', tradeName: 'x' },
      creationDate: '2020-01-01T00:00:00Z',
      keyOwnershipDate: '2020-01-01T00:00:00Z',
    },
  } as Parameters<typeof encodeGetEntryResponse>[0]);

test('ordinary names: our signature is the JDK signer\'s, byte for byte', { skip }, () => {
  const s = signer(ODD_NAMES.ordinary.subj, '5a17e2');
  for (const [name, xml] of [['request', request()], ['response', response()]] as const) {
    const input = file(`${name}.xml`, xml);
    const theirs = java(['sign', s.keyFile, s.certFile, input], { noLineBreaks: true });
    assert.equal(theirs.status, 0, theirs.stderr);
    const ours = signXml(xml, s);
    assert.equal(ours, theirs.stdout.replace(/\n$/, ''), name);
    // With the JDK's usual base64 line breaks, only the line breaks differ.
    const wrapped = java(['sign', s.keyFile, s.certFile, input]);
    assert.equal(wrapped.stdout.replace(/&#13;\n/g, '').replace(/\n$/, ''), ours, `${name} (wrapped)`);
  }
});

test('odd names: the JDK prints the issuer as we write it; each side verifies the other\'s signatures', { skip }, () => {
  let serial = 0x7e57;
  for (const [name, n] of Object.entries(ODD_NAMES)) {
    const s = signer(n.subj, (serial++).toString(16));
    const issuer = java(['issuer', s.certFile]);
    assert.equal(issuer.status, 0, issuer.stderr);
    assert.equal(x509IssuerName(new X509Certificate(s.certPem)), issuer.stdout, name);
    assert.equal(issuer.stdout, n.java, name);

    // JDK signs (BCB's way, with &#13; line breaks) → we verify against the pinned certificate.
    const input = file(`${name}.xml`, response());
    const theirs = java(['sign', s.keyFile, s.certFile, input]);
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.equal(verifyXml(theirs.stdout, [s.certPem]).signerCertPem, s.certPem, `${name}: we verify the JDK's`);

    // We sign → the JDK verifies, choosing the pinned certificate by our X509IssuerSerial.
    const ours = file(`${name}-ours.xml`, signXml(request(), s));
    const checked = java(['verify', s.certFile, '--', ours]);
    assert.equal(checked.status, 0, `${name}: the JDK verifies ours: ${checked.stderr}`);
  }
});
