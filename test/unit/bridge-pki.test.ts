// Dev PKI (scripts/pki.ts): chain, names, key/cert pairing, idempotency and concurrent creation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureDevPki } from '../../scripts/pki.js';

const pkiScript = resolve(__dirname, '../../scripts/pki.js');

function samePublicKey(keyPem: string, certPem: string): boolean {
  const a = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const b = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return Buffer.compare(a, b) === 0;
}

test('ensureDevPki: CA-signed DICT and participant certs with the agreed names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pki-'));
  try {
    const pki = ensureDevPki(dir, ['12345678', '87654321']);
    const ca = new X509Certificate(pki.caCertPem);
    const dict = new X509Certificate(pki.dict.certPem);
    assert.ok(dict.verify(ca.publicKey) && dict.checkIssued(ca));
    assert.match(dict.subject, /CN=dict\.local/);
    assert.ok(dict.checkHost('localhost') && dict.checkIP('127.0.0.1'));
    assert.ok(samePublicKey(pki.dict.keyPem, pki.dict.certPem));
    assert.equal(readFileSync(pki.dict.certFile, 'utf8'), pki.dict.certPem);
    for (const ispb of ['12345678', '87654321']) {
      const p = pki.participants[ispb]!;
      const c = new X509Certificate(p.certPem);
      assert.equal(c.subject, `CN=${ispb}`);
      assert.ok(c.verify(ca.publicKey));
      assert.ok(samePublicKey(p.keyPem, p.certPem));
      assert.equal((c.publicKey.asymmetricKeyDetails?.modulusLength), 2048);
      assert.equal(p.certFile, join(resolve(dir), `psp-${ispb}.crt`));
    }
    // Idempotent: a second call reuses everything and can add participants.
    const again = ensureDevPki(dir, ['12345678', '11223344']);
    assert.equal(again.caCertPem, pki.caCertPem);
    assert.equal(again.dict.certPem, pki.dict.certPem);
    assert.equal(again.participants['12345678']!.certPem, pki.participants['12345678']!.certPem);
    assert.ok(new X509Certificate(again.participants['11223344']!.certPem).verify(ca.publicKey));
    assert.throws(() => ensureDevPki(dir, ['123']), /8 digits/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two processes creating the same PKI at once end with one consistent PKI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pki-'));
  try {
    const run = promisify(execFile);
    await Promise.all([run(process.execPath, [pkiScript, dir, '12345678', '87654321']), run(process.execPath, [pkiScript, dir, '87654321', '12345678'])]);
    const pki = ensureDevPki(dir, ['12345678', '87654321']);
    const ca = new X509Certificate(pki.caCertPem);
    for (const kp of [pki.dict, ...Object.values(pki.participants)]) {
      assert.ok(new X509Certificate(kp.certPem).verify(ca.publicKey));
      assert.ok(samePublicKey(kp.keyPem, kp.certPem));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
