// Who is calling. Every handler reads the principal from the call's context; the auth step of
// the RPC chain (authStep) sets it and verifies the caller's Bearer JWT (api/auth.ts). A principal is always one PSP's
// (this deployment's PSP_ISPB), one end user or operator (`sub`), a role, and how strongly the
// user authenticated (amr/acr).
import { hash } from 'node:crypto';
import { Code, ConnectError, createContextKey, type ContextValues, type HandlerContext } from '@connectrpc/connect';
import type { CallRequest, Step } from './request-context.js';

/** customer: an end user acting on their own keys and claims; operator: the PSP's staff, on any of the PSP's. */
export type Role = 'customer' | 'operator';

export interface Principal {
  /** ISPB of the participant the call acts for (the token's ISPB claim, equal to PSP_ISPB). */
  participant: string;
  /** The token's `sub`: end user or operator, for audit. */
  subject?: string;
  role: Role;
  /** The end user's CPF/CNPJ (tax id claim): what a customer owns is what is registered under it. Required for customers. */
  taxIdNumber?: string;
  /** Authentication methods (`amr`) and context class (`acr`) of the token. */
  amr: string[];
  acr?: string;
  /** The token shows a second factor (a configured amr method or acr level). */
  secondFactor: boolean;
  /** How the principal was established. */
  via: 'jwt';
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: 'principal' });

export function principalOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(principalKey);
  if (!p) throw new ConnectError('no principal for this call', Code.Unauthenticated);
  return p;
}

/** Audit form of a principal, e.g. "12345678/operator:ana" or "12345678/customer:user-42". */
export const describePrincipal = (p: Principal): string => (p.subject ? `${p.participant}/${p.role}:${p.subject}` : p.participant);

/**
 * Services that answer without a token: the gRPC health protocol (load balancers' probes) and
 * server reflection (the API's schema, public in proto/; no data).
 */
const ANONYMOUS_SERVICES = new Set(['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);

/**
 * Verifies an Authorization header (api/auth.ts makes one): the principal, or
 * Unauthenticated/PermissionDenied. `values`: the call's context, where the header's digest (the
 * key of the verifier's cache) may already have been computed this call (authorizationDigest).
 */
export type VerifyBearer = ((authorization: string | null | undefined, values?: ContextValues) => Promise<Principal>) & {
  /**
   * The principal of a token this verifier has verified and still remembers, without a promise;
   * undefined otherwise (then the verifier itself decides). Absent: the verifier keeps no cache.
   */
  cached?: (authorization: string, values?: ContextValues) => Principal | undefined;
};

const digestKey = createContextKey<{ header: string; digest: string } | undefined>(undefined, { description: 'authorization digest' });

/**
 * SHA-256 of an Authorization header: what caches of verified tokens keep instead of the token
 * (one-shot hash: every call computes it, about 8 us). Not kept per connection: a memo that skips
 * the hash for a repeated header must hold the header, i.e. the bearer token, in the heap for the
 * connection's life (tried and reverted; bench/RESULTS.md, "LookupKey, 2026-12-06 08:35").
 */
export const digestAuthorization = (authorization: string): string => hash('sha256', authorization, 'base64url');

/** The call's authorizationDigest, computed once per call (the auth-failure limit and the verifier both need it). */
export function authorizationDigest(values: ContextValues, authorization: string): string {
  const memo = values.get(digestKey);
  // Only ever the digest of this very header value (a rewritten header gets its own).
  if (memo && memo.header === authorization) return memo.digest;
  const digest = digestAuthorization(authorization);
  values.set(digestKey, { header: authorization, digest });
  return digest;
}

/** What the auth step tells the failed-authentication limit (api/rate-limit.ts authFailureLimit). */
export interface AuthHooks {
  /** The call's token was refused (Unauthenticated / PermissionDenied from the verifier). */
  failed(req: CallRequest): Promise<void> | void;
  /** The call's token verified (every call that gets a principal, remembered or not). */
  verified(req: CallRequest, authorization: string): void;
}

/**
 * Every call carries a Bearer JWT; the verified principal goes into the call's context. A token
 * the verifier remembers passes without a promise (verify.cached), as most calls' do.
 */
export function authStep(verify: VerifyBearer, hooks?: AuthHooks): Step {
  const admit = (req: CallRequest, principal: Principal, authorization: string) => {
    req.contextValues.set(principalKey, principal);
    hooks?.verified(req, authorization);
  };
  const slow = async (req: CallRequest, authorization: string | null) => {
    let principal: Principal;
    try {
      principal = await verify(authorization, req.contextValues);
    } catch (err) {
      if (hooks && err instanceof ConnectError && (err.code === Code.Unauthenticated || err.code === Code.PermissionDenied)) await hooks.failed(req);
      throw err;
    }
    admit(req, principal, authorization!);
  };
  return (req) => {
    if (ANONYMOUS_SERVICES.has(req.service.typeName)) return;
    const authorization = req.header.get('authorization');
    const principal = authorization ? verify.cached?.(authorization, req.contextValues) : undefined;
    if (!principal) return slow(req, authorization);
    admit(req, principal, authorization!);
  };
}
