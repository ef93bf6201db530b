// Who is calling. Every handler reads the principal from the call's context; the interceptor
// that sets it is the one place authentication plugs in (JWT per PSP and end user later).
import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor } from '@connectrpc/connect';

export interface Principal {
  /** ISPB of the participant the call acts for. */
  participant: string;
  /** End user on whose behalf the call is made, when the channel says so. */
  subject?: string;
  /** How the principal was established. */
  via: 'static' | 'jwt';
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: 'principal' });

export function principalOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(principalKey);
  if (!p) throw new ConnectError('no principal for this call', Code.Unauthenticated);
  return p;
}

/** Audit form of a principal, e.g. "12345678" or "12345678/user-42". */
export const describePrincipal = (p: Principal): string => (p.subject ? `${p.participant}/${p.subject}` : p.participant);

const SUBJECT = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * Until the production-surface issue brings JWTs, every call acts for this deployment's own
 * participant; an `x-end-user-id` header names the end user for audit.
 */
export function staticPrincipalInterceptor(participant: string): Interceptor {
  return (next) => async (req) => {
    const subject = req.header.get('x-end-user-id') ?? undefined;
    if (subject !== undefined && !SUBJECT.test(subject)) {
      throw new ConnectError('x-end-user-id: 1-128 characters of [A-Za-z0-9._:@-]', Code.InvalidArgument);
    }
    req.contextValues.set(principalKey, { participant, subject, via: 'static' });
    return next(req);
  };
}
