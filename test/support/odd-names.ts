// Certificates whose issuer names are hard to spell (quotes, commas, "=", double spaces, an
// attribute the JDK prints as OID.2.5.4.97, a multi-valued RDN), made with the openssl CLI for
// the XMLDSig interoperability tests. Self-signed, so issuer = subject.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OddSigner {
  keyPem: string;
  certPem: string;
  /** Files, for tools that read them (the Java signer wants PKCS#8). */
  dir: string;
  keyFile: string;
  certFile: string;
}

/** Issuers, in openssl -subj syntax (DER order), with the string the JDK prints for each (X500Principal.toString()). */
export const ODD_NAMES = {
  quotedComma: {
    subj: '/C=BR/O=Banco Exemplo, S.A./OU=a=b/OU=two  spaces/organizationIdentifier=OFBBR-12345678/CN=DICT Signer',
    java: 'CN=DICT Signer, OID.2.5.4.97=OFBBR-12345678, OU="two  spaces", OU="a=b", O="Banco Exemplo, S.A.", C=BR',
  },
  escapes: {
    subj: '/C=BR/ST=São Paulo/O=#hash <x>/OU= lead/CN=DICT "Signer" \\+ x\\\\y;z',
    java: 'CN="DICT \\"Signer\\" + x\\\\y;z", OU=" lead", O="#hash <x>", ST=São Paulo, C=BR',
  },
  multiValued: {
    subj: '/C=BR/O=Banco Exemplo/CN=DICT+serialNumber=00038166',
    java: 'CN=DICT + SERIALNUMBER=00038166, O=Banco Exemplo, C=BR',
  },
  ordinary: {
    subj: '/C=BR/O=Banco Exemplo SA/OU=Pix/CN=dict-signer.example',
    java: 'CN=dict-signer.example, OU=Pix, O=Banco Exemplo SA, C=BR',
  },
} as const;

export function oddSigner(subj: string, serialHex: string): OddSigner {
  const dir = mkdtempSync(join(tmpdir(), 'odd-pki-'));
  try {
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'key.pem'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync(
      'openssl',
      ['req', '-x509', '-new', '-key', 'key.pem', '-sha256', '-days', '30', '-utf8', '-multivalue-rdn', '-subj', subj, '-set_serial', `0x${serialHex}`, '-out', 'cert.pem'],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return {
      keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      dir,
      keyFile: join(dir, 'key.pem'),
      certFile: join(dir, 'cert.pem'),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
