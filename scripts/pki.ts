// Dev/test PKI for the bridge and the DICT simulator, built with the `openssl` CLI.
// Creates (only when missing) a CA, the DICT's cert (TLS server + response signing) and one
// cert per participant ISPB (TLS client + request signing). Idempotent and safe to run from
// two processes at once: creation runs under a mkdir lock, and every file is written under a
// temp name and renamed into place, so a reader never sees a half-written PEM.
// Also the dev identity provider's signing key (ES256, auth-signing.key) and its public JWKS
// (auth-jwks.json, the API's AUTH_JWKS_FILE): scripts/token.ts mints dev tokens with it. And
// payload-keys.json, the AES-256 key that encrypts workflow data in Temporal (PAYLOAD_KEYS_FILE).
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PAYLOAD_KEYS_FILE_NAME, newPayloadKey } from '../config/payload-codec.js';

export interface DevKeyPair {
  keyPem: string;
  certPem: string;
  keyFile: string;
  certFile: string;
}

export interface DevPki {
  dir: string;
  caCertPem: string;
  dict: DevKeyPair;
  participants: Record<string, DevKeyPair>;
  /** The dev identity provider: its ES256 private key and the public JWKS the API trusts. */
  auth: DevAuthKey;
  /** Temporal payload encryption keys (PAYLOAD_KEYS_FILE): key id → base64 AES-256 key. */
  payloadKeysFile: string;
}

export interface DevAuthKey {
  keyFile: string;
  keyPem: string;
  jwksFile: string;
  /** Key id in the JWKS (the key's RFC 7638 thumbprint). */
  kid: string;
}

export const AUTH_KEY_FILE = 'auth-signing.key';
export const AUTH_JWKS_FILE = 'auth-jwks.json';
export { PAYLOAD_KEYS_FILE_NAME };

/** Temporal payload encryption: a keys file with one random AES-256 key (config/payload-codec.ts), created when missing. */
function ensurePayloadKeys(dir: string): void {
  const file = join(dir, PAYLOAD_KEYS_FILE_NAME);
  if (existsSync(file)) return;
  const tmp = scratch(dir);
  try {
    const id = `dev-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
    writeFileSync(join(tmp, 'p'), `${JSON.stringify({ [id]: newPayloadKey() }, null, 2)}\n`, { mode: 0o600 });
    renameSync(join(tmp, 'p'), file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** RFC 7638 thumbprint of an EC public JWK (required members in lexicographic order). */
function ecThumbprint(jwk: { crv?: string; kty?: string; x?: string; y?: string }): string {
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url');
}

/** The dev IdP's P-256 key and its JWKS (public half only), created when missing. */
function ensureAuthKey(dir: string): void {
  const keyFile = join(dir, AUTH_KEY_FILE);
  const jwksFile = join(dir, AUTH_JWKS_FILE);
  if (existsSync(keyFile) && existsSync(jwksFile)) return;
  const tmp = scratch(dir);
  try {
    const keyPem = existsSync(keyFile)
      ? readFileSync(keyFile, 'utf8')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const { crv, kty, x, y } = createPrivateKey(keyPem).export({ format: 'jwk' });
    const pub = { kty, crv, x, y };
    const jwks = { keys: [{ ...pub, kid: ecThumbprint(pub), alg: 'ES256', use: 'sig' }] };
    writeFileSync(join(tmp, 'k'), keyPem, { mode: 0o600 });
    writeFileSync(join(tmp, 'j'), `${JSON.stringify(jwks, null, 2)}\n`);
    if (!existsSync(keyFile)) renameSync(join(tmp, 'k'), keyFile);
    renameSync(join(tmp, 'j'), jwksFile);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const DAYS = '3650';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A per-call scratch dir inside `dir`, so concurrent callers never share temp names. */
function scratch(dir: string): string {
  const d = join(dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(d, { recursive: true });
  return d;
}

function ensureCa(dir: string): void {
  const crt = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  if (existsSync(crt) && existsSync(key)) return;
  const tmp = scratch(dir);
  try {
    openssl(['genrsa', '-out', 'ca.key', '2048'], tmp);
    openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', DAYS, '-subj', '/CN=Core DICT Dev CA',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-out', 'ca.crt'],
      tmp,
    );
    renameSync(join(tmp, 'ca.key'), key);
    renameSync(join(tmp, 'ca.crt'), crt);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function ensureLeaf(dir: string, name: string, cn: string, ext: string): void {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  if (!(existsSync(certFile) && existsSync(keyFile))) {
    const tmp = scratch(dir);
    try {
      writeFileSync(join(tmp, 'ext.cnf'), ext);
      openssl(['genrsa', '-out', 'leaf.key', '2048'], tmp);
      openssl(['req', '-new', '-key', 'leaf.key', '-sha256', '-subj', `/CN=${cn}`, '-out', 'leaf.csr'], tmp);
      openssl(
        ['x509', '-req', '-in', 'leaf.csr', '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
          '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', DAYS, '-sha256',
          '-extfile', 'ext.cnf', '-extensions', 'v3', '-out', 'leaf.crt'],
        tmp,
      );
      renameSync(join(tmp, 'leaf.key'), keyFile);
      renameSync(join(tmp, 'leaf.crt'), certFile);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Cross-process lock: mkdir is atomic. A lock older than 60 s is a crashed holder's. */
function withLock<T>(dir: string, fn: () => T): T {
  const lock = join(dir, '.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* removed meanwhile */
      }
      sleepMs(50);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const SERVER_EXT = `[v3]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,DNS:dict.local,IP:127.0.0.1
`;

const CLIENT_EXT = `[v3]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth,serverAuth
`;

export function ensureDevPki(dir: string, participants: string[]): DevPki {
  const abs = resolve(dir);
  for (const ispb of participants) {
    if (!/^\d{8}$/.test(ispb)) throw new Error(`ensureDevPki: ISPB must be 8 digits, got "${ispb}"`);
  }
  mkdirSync(abs, { recursive: true });
  const done = (): boolean =>
    ['ca.crt', 'ca.key', 'dict.crt', 'dict.key', AUTH_KEY_FILE, AUTH_JWKS_FILE, PAYLOAD_KEYS_FILE_NAME, ...participants.flatMap((p) => [`psp-${p}.crt`, `psp-${p}.key`])]
      .every((f) => existsSync(join(abs, f)));
  // Fast path without the lock: everything already exists (the common case after first run).
  if (!done()) {
    withLock(abs, () => {
      ensureCa(abs);
      ensureLeaf(abs, 'dict', 'dict.local', SERVER_EXT);
      for (const ispb of participants) ensureLeaf(abs, `psp-${ispb}`, ispb, CLIENT_EXT);
      ensureAuthKey(abs);
      ensurePayloadKeys(abs);
    });
  }
  const read = (name: string): DevKeyPair => {
    const keyFile = join(abs, `${name}.key`);
    const certFile = join(abs, `${name}.crt`);
    return { keyPem: readFileSync(keyFile, 'utf8'), certPem: readFileSync(certFile, 'utf8'), keyFile, certFile };
  };
  const out: Record<string, DevKeyPair> = {};
  for (const ispb of participants) out[ispb] = read(`psp-${ispb}`);
  return { dir: abs, caCertPem: readFileSync(join(abs, 'ca.crt'), 'utf8'), dict: read('dict'), participants: out, auth: readDevAuthKey(abs), payloadKeysFile: join(abs, PAYLOAD_KEYS_FILE_NAME) };
}

/** The dev identity provider's signing key in a PKI directory, with its kid from the JWKS. */
export function readDevAuthKey(dir: string): DevAuthKey {
  const keyFile = join(dir, AUTH_KEY_FILE);
  const jwksFile = join(dir, AUTH_JWKS_FILE);
  const [jwk] = (JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: { kid: string }[] }).keys;
  return { keyFile, keyPem: readFileSync(keyFile, 'utf8'), jwksFile, kid: jwk!.kid };
}

if (require.main === module) {
  const [dir, ...ispbs] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: node dist/scripts/pki.js <dir> <ispb> [<ispb>...]\n');
    process.exit(2);
  }
  const pki = ensureDevPki(dir, ispbs);
  process.stdout.write(`dev PKI ready in ${pki.dir} (participants: ${Object.keys(pki.participants).join(', ') || 'none'})\n`);
}
