// Authentication of API calls: an `Authorization: Bearer <JWT>` header verified with jose
// against this deployment's identity provider (issuer, audience, an allow-list of asymmetric
// algorithms, exp/nbf with a small clock skew, keys from a JWKS file or URL) and turned into a
// Principal. verifyBearer is the one entry point: the RPC chain's auth step and any other endpoint
// (e.g. /codec) use the same verifier. Authorization rules that need data (whose key, whose
// claim) live in api/authorization.ts.
//
// A verified token is remembered (by its SHA-256, in a bounded LRU) until the earliest of its
// expiry (exp, or iat + the maximum age, plus the clock skew jose allows) and a short cache TTL,
// so a client reusing one token pays the signature check once instead of on every call (it was
// ~10 % of a LookupKey's CPU). Only successes are remembered. What the TTL bounds: a signing key
// withdrawn from the JWKS still admits tokens verified before, for at most that TTL.
//
// The identity provider's keys not reachable (a JWKS URL that times out, refuses, answers
// non-200 or not a JWKS) is not the caller's fault: UNAVAILABLE with a fixed text (nothing of
// the network error reaches the caller), reported to `onKeySourceError`, and not an
// authentication failure (api/rate-limit.ts counts only Unauthenticated / PermissionDenied
// against a peer, so an IdP outage locks nobody out). jose fetches the set once at a time per
// process, so callers during an outage cost the IdP at most one request in flight. One exception
// keeps forged tokens counted: while the set we hold is fresh, a refetch that fails for a `kid`
// it lacks is the token's failure (an unknown key), not the IdP's — otherwise made-up kids
// would pass the per-peer limit unverified for as long as the IdP is down.
import { readFileSync } from 'node:fs';
import { boundedCache } from '../config/bounded-cache.js';
import { Code, ConnectError, type ContextValues } from '@connectrpc/connect';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { unavailable } from './errors.js';
import { authorizationDigest, digestAuthorization, type Principal, type Role, type VerifyBearer } from './principal.js';

/** Algorithms accepted unless configured otherwise: asymmetric only (never `none`, never HS*). */
export const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
const SYMMETRIC = /^HS\d+$/;

export interface AuthOptions {
  /** This deployment's PSP (PSP_ISPB): a token for another PSP is refused. */
  participant: string;
  issuer: string;
  audience: string;
  /** JWS algorithms accepted; `none` is never accepted, HS* only with allowSymmetric. */
  algorithms?: string[];
  allowSymmetric?: boolean;
  /** Tolerated clock skew for exp/nbf/iat, in seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Oldest accepted token, now − iat, in seconds (default 24 h; jose maxTokenAge); 0 = no limit. */
  maxTokenAgeSeconds?: number;
  /** Where the signing keys come from: a JWKS document (file contents) or a URL, or a ready key resolver. */
  jwks: { keys: JSONWebKeySet } | { url: string; timeoutMs?: number; cooldownMs?: number; cacheMaxAgeMs?: number } | { getKey: JWTVerifyGetKey };
  /** Names of the claims carrying the PSP's ISPB, the end user's tax id and the role. */
  claims?: { ispb?: string; taxId?: string; role?: string };
  /** What counts as a second factor: any of these in `amr`, or `acr` equal to one of acrValues. */
  secondFactor?: { amr?: string[]; acrValues?: string[] };
  /** Verified tokens remembered: at most `max`, each at most `ttlSeconds` (and never past its expiry); ttlSeconds 0 = off. */
  tokenCache?: { max: number; ttlSeconds: number };
  /** Clock for the cache (tests). */
  now?: () => number;
  /** The key source failed (JWKS URL down, bad answer): the call answered UNAVAILABLE; for the operator's log. */
  onKeySourceError?: (err: unknown) => void;
}

export type { VerifyBearer };

/** Authentication failed: the caller must present a valid token. */
export const unauthenticated = (why: string): ConnectError => new ConnectError(why, Code.Unauthenticated);
/** Authenticated, but not allowed to do this. */
export const permissionDenied = (why: string): ConnectError => new ConnectError(why, Code.PermissionDenied);

export const DEFAULT_SECOND_FACTOR_AMR = ['otp', 'mfa', 'hwk', 'sms', 'fido', 'swk'];
const TAX_ID = /^([0-9]{11}|[0-9]{14})$/;
const SUBJECT = /^[A-Za-z0-9._:@|-]{1,128}$/;

/** The JWKS a file holds (AUTH_JWKS_FILE). */
export function readJwksFile(file: string): JSONWebKeySet {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet;
  if (!doc || !Array.isArray(doc.keys) || doc.keys.length === 0) throw new Error(`${file}: not a JWKS (no "keys")`);
  return doc;
}

function keyResolver(j: AuthOptions['jwks']): JWTVerifyGetKey {
  if ('getKey' in j) return j.getKey;
  if ('keys' in j) return createLocalJWKSet(j.keys);
  // jose caches the set, refetches on an unknown kid at most once per cooldown, and times out.
  return createRemoteJWKSet(new URL(j.url), { timeoutDuration: j.timeoutMs ?? 2_000, cooldownDuration: j.cooldownMs ?? 30_000, cacheMaxAge: j.cacheMaxAgeMs ?? 600_000 });
}

/** The key source failed: set by keySource, read by verify. `unknownKey`: our fresh set lacks the token's key. */
class KeySourceError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly unknownKey: boolean,
  ) {
    super('identity provider keys unavailable');
  }
}

/**
 * Errors of `getKey` that say nothing about the token: the set could not be fetched (timeout,
 * connection, non-200, not JSON: jose's JWKSTimeout, its generic JOSEError, any non-jose error)
 * or is not a JWKS (JWKSInvalid). What a token can cause (an unknown kid, several matching keys,
 * an unsupported key) stays the token's failure.
 */
const keySourceFailed = (err: unknown): boolean =>
  !(err instanceof joseErrors.JOSEError) || err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err.code === joseErrors.JOSEError.code;

function keySource(getKey: JWTVerifyGetKey & { fresh?: boolean }): JWTVerifyGetKey {
  return async (header, token) => {
    // jose's remote set: fresh = it holds a set younger than its max age and fetches only for a kid it lacks.
    const fresh = getKey.fresh === true;
    try {
      return await getKey(header, token);
    } catch (err) {
      throw keySourceFailed(err) ? new KeySourceError(err, fresh) : err;
    }
  };
}

function why(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token claim "${err.claim}" invalid: ${err.reason}`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'token signed by an unknown key';
  // jose's own texts name what is wrong with the token; anything else is not echoed.
  if (err instanceof joseErrors.JOSEError) return `token invalid: ${err.message}`;
  return 'token invalid';
}

const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? v.split(' ').filter(Boolean) : []);

/** A verifier for `Authorization` header values; throws ConnectErrors (Unauthenticated / PermissionDenied; Unavailable when the IdP's keys cannot be had). */
export function createVerifier(o: AuthOptions): VerifyBearer {
  const algorithms = o.algorithms ?? [...DEFAULT_ALGORITHMS];
  for (const a of algorithms) {
    if (a.toLowerCase() === 'none') throw new Error('auth: algorithm "none" can never be allowed');
    if (SYMMETRIC.test(a) && !o.allowSymmetric) throw new Error(`auth: symmetric algorithm ${a} needs allowSymmetric (AUTH_ALLOW_HS=true)`);
  }
  if (!o.issuer || !o.audience) throw new Error('auth: issuer and audience are required');
  const getKey = keySource(keyResolver(o.jwks));
  const names = { ispb: o.claims?.ispb ?? 'ispb', taxId: o.claims?.taxId ?? 'tax_id', role: o.claims?.role ?? 'role' };
  const amrFactors = new Set(o.secondFactor?.amr ?? DEFAULT_SECOND_FACTOR_AMR);
  const acrValues = new Set(o.secondFactor?.acrValues ?? []);
  const maxAge = o.maxTokenAgeSeconds ?? 86_400;
  const skew = o.clockToleranceSeconds ?? 30;
  const now = o.now ?? Date.now;
  const cacheTtlMs = (o.tokenCache?.ttlSeconds ?? 0) * 1000;
  const cache = cacheTtlMs > 0 && (o.tokenCache?.max ?? 0) > 0 ? boundedCache<string, { principal: Principal; until: number }>(o.tokenCache!.max) : undefined;

  const BEARER = /^Bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ ]*$/i;
  /** The remembered principal of a well-formed header's token, if still within its time. */
  const remembered = (id: string): Principal | undefined => {
    const hit = cache!.get(id);
    return hit && now() < hit.until ? hit.principal : undefined;
  };
  /** The key of a header in the cache: its digest, computed once per call when the call's context is given. */
  const idOf = (authorization: string, values?: ContextValues) => (values ? authorizationDigest(values, authorization) : digestAuthorization(authorization));
  const verifier: VerifyBearer = async (authorization, values) => {
    if (!authorization) throw unauthenticated('missing Authorization: Bearer token');
    const m = BEARER.exec(authorization);
    if (!m) throw unauthenticated('Authorization must be "Bearer <JWT>"');
    const id = cache && idOf(authorization, values);
    if (id) {
      const hit = remembered(id);
      if (hit) return hit;
    }
    const { principal, exp, iat } = await verify(m[1]!);
    if (id) {
      const until = Math.min(now() + cacheTtlMs, (exp + skew) * 1000, iat !== undefined && maxAge ? (iat + maxAge + skew) * 1000 : Infinity);
      if (until > now()) cache!.set(id, { principal, until });
    }
    return principal;
  };
  // The same cache hit without a promise: what the RPC chain tries first (api/principal.ts authStep).
  if (cache) verifier.cached = (authorization, values) => (BEARER.test(authorization) ? remembered(idOf(authorization, values)) : undefined);
  return verifier;

  async function verify(token: string): Promise<{ principal: Principal; exp: number; iat?: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: o.issuer,
        audience: o.audience,
        clockTolerance: skew,
        ...(o.now ? { currentDate: new Date(o.now()) } : {}),
        requiredClaims: ['exp', 'sub'],
        ...(maxAge ? { maxTokenAge: maxAge } : {}),
      }));
    } catch (err) {
      if (err instanceof KeySourceError) {
        o.onKeySourceError?.(err.cause);
        if (err.unknownKey) throw unauthenticated(why(new joseErrors.JWKSNoMatchingKey()));
        throw unavailable('identity provider keys unavailable; retry later');
      }
      throw unauthenticated(why(err));
    }
    const sub = payload.sub!;
    if (!SUBJECT.test(sub)) throw unauthenticated('token claim "sub": 1-128 characters of [A-Za-z0-9._:@|-]');
    const role = payload[names.role];
    if (role !== 'customer' && role !== 'operator') throw unauthenticated(`token claim "${names.role}" must be "customer" or "operator"`);
    const ispb = payload[names.ispb];
    if (typeof ispb !== 'string' || !/^[0-9]{8}$/.test(ispb)) throw unauthenticated(`token claim "${names.ispb}" must be an 8-digit ISPB`);
    if (ispb !== o.participant) throw permissionDenied(`token is for PSP ${ispb}; this service acts for ${o.participant}`);
    const taxId = payload[names.taxId];
    if (taxId !== undefined && (typeof taxId !== 'string' || !TAX_ID.test(taxId))) throw unauthenticated(`token claim "${names.taxId}" must be a CPF (11 digits) or CNPJ (14 digits)`);
    if (role === 'customer' && taxId === undefined) throw unauthenticated(`a customer token needs the "${names.taxId}" claim (the end user's CPF/CNPJ)`);
    const amr = stringList(payload.amr);
    const acr = typeof payload.acr === 'string' ? payload.acr : undefined;
    const principal: Principal = {
      participant: ispb,
      subject: sub,
      role: role as Role,
      ...(taxId ? { taxIdNumber: taxId as string } : {}),
      amr,
      ...(acr ? { acr } : {}),
      secondFactor: amr.some((a) => amrFactors.has(a)) || (acr !== undefined && acrValues.has(acr)),
      via: 'jwt',
    };
    // Shared by every call presenting this token (the cache): nobody may change it.
    return { principal: Object.freeze(principal), exp: payload.exp!, ...(typeof payload.iat === 'number' ? { iat: payload.iat } : {}) };
  }
}

/** Auth options from the API's configuration (AUTH_* variables). */
export function authOptionsFromConfig(c: {
  PSP_ISPB: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
  AUTH_ALGORITHMS: string;
  AUTH_ALLOW_HS: boolean;
  AUTH_CLOCK_SKEW_SECONDS: number;
  AUTH_MAX_TOKEN_AGE_SECONDS: number;
  AUTH_JWKS_FILE?: string;
  AUTH_JWKS_URL?: string;
  AUTH_JWKS_TIMEOUT_MS: number;
  AUTH_JWKS_CACHE_SECONDS: number;
  AUTH_ISPB_CLAIM: string;
  AUTH_TAX_ID_CLAIM: string;
  AUTH_ROLE_CLAIM: string;
  AUTH_SECOND_FACTOR_AMR: string;
  AUTH_SECOND_FACTOR_ACR: string;
  AUTH_TOKEN_CACHE_SECONDS: number;
  AUTH_TOKEN_CACHE_MAX: number;
}): AuthOptions {
  const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
  if (!c.AUTH_JWKS_FILE === !c.AUTH_JWKS_URL) throw new Error('auth: set exactly one of AUTH_JWKS_FILE and AUTH_JWKS_URL');
  return {
    participant: c.PSP_ISPB,
    issuer: c.AUTH_ISSUER,
    audience: c.AUTH_AUDIENCE,
    algorithms: list(c.AUTH_ALGORITHMS),
    allowSymmetric: c.AUTH_ALLOW_HS,
    clockToleranceSeconds: c.AUTH_CLOCK_SKEW_SECONDS,
    maxTokenAgeSeconds: c.AUTH_MAX_TOKEN_AGE_SECONDS,
    jwks: c.AUTH_JWKS_FILE
      ? { keys: readJwksFile(c.AUTH_JWKS_FILE) }
      : { url: c.AUTH_JWKS_URL!, timeoutMs: c.AUTH_JWKS_TIMEOUT_MS, cacheMaxAgeMs: c.AUTH_JWKS_CACHE_SECONDS * 1000 },
    claims: { ispb: c.AUTH_ISPB_CLAIM, taxId: c.AUTH_TAX_ID_CLAIM, role: c.AUTH_ROLE_CLAIM },
    secondFactor: { amr: list(c.AUTH_SECOND_FACTOR_AMR), acrValues: list(c.AUTH_SECOND_FACTOR_ACR) },
    tokenCache: { max: c.AUTH_TOKEN_CACHE_MAX, ttlSeconds: c.AUTH_TOKEN_CACHE_SECONDS },
  };
}

let configured: VerifyBearer | undefined;

/** Install the process's verifier (api/main.ts does, from configuration). */
export function setVerifier(v: VerifyBearer): void {
  configured = v;
}

/**
 * Verify an `Authorization` header value with this process's verifier: the Principal, or a
 * ConnectError (Unauthenticated / PermissionDenied / Unavailable). For endpoints outside the RPC handler.
 */
export function verifyBearer(authorization: string | null | undefined): Promise<Principal> {
  if (!configured) return Promise.reject(unauthenticated('authentication is not configured in this process'));
  return configured(authorization);
}
