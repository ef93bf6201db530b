// Dev tokens: mints a Bearer JWT signed with the dev identity provider's key that the PKI step
// created (scripts/pki.ts: auth-signing.key, public half in auth-jwks.json = AUTH_JWKS_FILE).
// Used by scripts/token.sh and by the tests. Never for production: a real IdP issues tokens.
//   node dist/scripts/token.js --pki .data/dev/pki --role customer --sub user-1 --tax-id 12345678909 --amr pwd,otp
import { createPrivateKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Interceptor } from '@connectrpc/connect';
import { SignJWT } from 'jose';
import { readDevAuthKey } from './pki.js';

export interface MintOptions {
  /** PKCS#8 PEM of the ES256 signing key. */
  keyPem: string;
  kid?: string;
  issuer?: string;
  audience?: string;
  sub: string;
  ispb: string;
  role: 'customer' | 'operator';
  /** The end user's CPF/CNPJ (customers). */
  taxId?: string;
  amr?: string[];
  acr?: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  /** Not valid before now + this many seconds (default: now). */
  notBeforeSeconds?: number;
  /** Issued-at offset from now, in seconds (default 0). */
  issuedAtOffsetSeconds?: number;
  /** Extra claims, merged last. */
  extra?: Record<string, unknown>;
}

export const DEV_ISSUER = 'core-dict-dev-idp';
export const DEV_AUDIENCE = 'core-dict';

export async function mintToken(o: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iat = now + (o.issuedAtOffsetSeconds ?? 0);
  const claims: Record<string, unknown> = { ispb: o.ispb, role: o.role, ...(o.taxId ? { tax_id: o.taxId } : {}), amr: o.amr ?? ['pwd'], ...(o.acr ? { acr: o.acr } : {}), ...o.extra };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...(o.kid ? { kid: o.kid } : {}) })
    .setIssuer(o.issuer ?? DEV_ISSUER)
    .setAudience(o.audience ?? DEV_AUDIENCE)
    .setSubject(o.sub)
    .setIssuedAt(iat)
    .setNotBefore(now + (o.notBeforeSeconds ?? 0))
    .setExpirationTime(iat + (o.ttlSeconds ?? 3600))
    .sign(createPrivateKey(o.keyPem));
}

/**
 * An operator token for dev tools (bench, history capture) against a running dev stack:
 * API_TOKEN when set, else one minted with the dev key in PKI_DIR (default .data/dev/pki) for PSP_ISPB.
 */
export async function devOperatorToken(): Promise<string> {
  if (process.env.API_TOKEN) return process.env.API_TOKEN;
  const { keyPem, kid } = readDevAuthKey(process.env.PKI_DIR ?? '.data/dev/pki');
  return mintToken({ keyPem, kid, ispb: process.env.PSP_ISPB ?? '12345678', role: 'operator', sub: 'dev-tools', ttlSeconds: 12 * 3600 });
}

/** Sends devOperatorToken() as `Authorization: Bearer` on every call. */
export function devBearer(): Interceptor {
  let token: Promise<string> | undefined;
  return (next) => async (req) => {
    token ??= devOperatorToken();
    req.header.set('authorization', `Bearer ${await token}`);
    return next(req);
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pki: { type: 'string' },
      ispb: { type: 'string' },
      role: { type: 'string', default: 'operator' },
      sub: { type: 'string' },
      'tax-id': { type: 'string' },
      amr: { type: 'string', default: 'pwd' },
      acr: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      issuer: { type: 'string', default: DEV_ISSUER },
      audience: { type: 'string', default: DEV_AUDIENCE },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const role = values.role;
  if (values.help || !values.pki || !values.ispb || (role !== 'customer' && role !== 'operator') || (role === 'customer' && !values['tax-id'])) {
    process.stderr.write(
      'usage: token.js --pki DIR --ispb ISPB [--role operator|customer] [--sub ID] [--tax-id CPF/CNPJ (customer)] [--amr pwd,otp] [--acr LEVEL] [--ttl SECONDS]\n',
    );
    process.exit(values.help ? 0 : 2);
  }
  const { keyPem, kid } = readDevAuthKey(values.pki);
  const token = await mintToken({
    keyPem,
    kid,
    issuer: values.issuer,
    audience: values.audience,
    ispb: values.ispb,
    role,
    sub: values.sub ?? (role === 'operator' ? 'dev-operator' : `customer-${values['tax-id']}`),
    taxId: values['tax-id'],
    amr: values.amr!.split(',').filter(Boolean),
    acr: values.acr,
    ttlSeconds: Number(values.ttl),
  });
  process.stdout.write(`${token}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
