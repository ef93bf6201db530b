// Anti-scanning admission of LookupKey (DICT API 2.6.1 "Limitação de requisições", Manual §13):
// before a lookup reaches DICT it must find a token in its payer's bucket and in ours
// (store/antiscan.ts); once DICT answered, a not-found is charged the rest of its cost, and an
// answer DICT does not count (any status but 200/404) or a request that never left gives the
// reservation back (outcomeOf says which). Refused lookups answer
// RESOURCE_EXHAUSTED with ErrorInfo RateLimited (BCB's name) and RetryInfo. ReportPaymentOrder
// gives back BCB's credit for a lookup followed by a payment order.
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { Logger } from 'pino';
import { DictCircuitOpenError, DictRateLimitHoldError } from '../bridge/resilience.js';
import { DictProblemError, DictTransportError, type DictPoliciesApi } from '../bridge/types.js';
import { isParticipantCategory, PARTICIPANT_ANTISCAN_POLICY, participantTokensAtMost, type LookupOutcome } from '../domain/antiscan.js';
import { isValidEndToEndId } from '../domain/ids.js';
import { inferKeyType } from '../domain/validation.js';
import * as pb from '../gen/dict/core/v1/service_pb.js';
import type { AntiscanLimiter, PoliciesRound, PoliciesView } from '../store/antiscan.js';
import { invalidArgument, rateLimited, unavailable } from './errors.js';
import { permissionDenied } from './auth.js';
import { principalOf } from './principal.js';

export interface AntiscanDeps {
  /** Absent: no admission (ANTISCAN_ENABLED=false, or a test stack without it). */
  antiscan?: AntiscanLimiter;
  log: Logger;
}

/** Socket errors that mean the request never reached DICT (nothing for DICT to count). */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * How a DICT call's result counts in the buckets. DICT API 2.6.1 "Regras de contagem": the
 * anti-scanning policies subtract only for status 200 (1) and 404 (20 user / 3 participant); any
 * other status (5xx, 429, 400…) subtracts nothing. A request that may have reached DICT without
 * our seeing the answer (attempt timeout, connection lost, unverifiable answer) was probably
 * counted by DICT: the reservation (a hit) is kept. When the caller itself abandoned the lookup
 * (its deadline or a cancel) it is charged as a not-found, DICT's worst case: otherwise a client
 * cancelling every lookup early would keep our buckets full while DICT's drain.
 */
export function outcomeOf(err: unknown, callerAborted: boolean): LookupOutcome | 'keep' {
  if (err instanceof DictCircuitOpenError || err instanceof DictRateLimitHoldError) return 'notCounted';
  if (err instanceof DictProblemError) {
    if (err.bcbError === 'NotFound') return 'notFound';
    // DICT does not count a 429, but its bucket was empty: keep ours from running ahead of it.
    if (err.status === 429) return 'keep';
    return 'notCounted';
  }
  if (callerAborted) return 'notFound';
  const code = err instanceof DictTransportError ? (err.cause as { code?: unknown } | undefined)?.code : undefined;
  if (typeof code === 'string' && NEVER_SENT.has(code)) return 'notCounted';
  return 'keep';
}

/** Runs `call` (DICT's getEntry) under anti-scanning admission, charging its outcome. */
export async function admitLookup<T>(d: AntiscanDeps, ctx: HandlerContext, req: { key: string; payerId: string; endToEndId?: string }, call: () => Promise<T>): Promise<T> {
  if (!d.antiscan) return call();
  const { participant } = principalOf(ctx);
  const keyType = inferKeyType(req.key) ?? 'EVP';
  const a = await d.antiscan.admit({ participant, payerId: req.payerId, keyType });
  if (!a.ok) {
    d.log.debug({ policy: a.policy, via: a.via, retryAfterSeconds: a.retryAfterSeconds }, 'lookup refused by anti-scanning');
    throw rateLimited(`anti-scanning: ${a.policy} bucket is empty`, a.retryAfterSeconds, a.policy);
  }
  let result: T;
  try {
    result = await call();
  } catch (err) {
    const o = outcomeOf(err, ctx.signal.aborted);
    if (o !== 'keep') await d.antiscan.settle(a.ticket, o);
    throw err;
  }
  await d.antiscan.settle(a.ticket, 'found', req.endToEndId);
  return result;
}

export function paymentOrderService(d: AntiscanDeps): Pick<ServiceImpl<typeof pb.CoreDictService>, 'reportPaymentOrder'> {
  return {
    async reportPaymentOrder(req, ctx) {
      if (!isValidEndToEndId(req.endToEndId)) {
        throw invalidArgument([{ field: 'end_to_end_id', reason: 'PATTERN', description: "end_to_end_id must be SPI's 'E' + ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics" }], 'request has invalid fields', 'EntryInvalid');
      }
      // Reported by our payments system, never by the payer: a customer crediting their own
      // bucket would defeat it.
      const principal = principalOf(ctx);
      if (principal.role === 'customer') throw permissionDenied('ReportPaymentOrder is for operators (the payments system), not customers');
      if (!d.antiscan) return create(pb.ReportPaymentOrderResponseSchema, { refunded: false, replayed: false });
      const { participant } = principal;
      try {
        const r = await d.antiscan.paymentOrder(participant, req.endToEndId);
        return create(pb.ReportPaymentOrderResponseSchema, r);
      } catch (err) {
        d.log.debug({ err }, 'payment order credit failed');
        throw unavailable('anti-scanning buckets unavailable; retry (ReportPaymentOrder is idempotent)', 1);
      }
    },
  };
}

/**
 * Reconciles our participant bucket with DICT's (GET /policies/): DICT's category replaces the
 * configured one, and our bucket is lowered to DICT's AvailableTokens when it holds more (never
 * raised: DICT may count lookups of other instances or of an earlier run). User buckets have no
 * DICT view (BCB serves only the participant's). Runs now and every `intervalMs` (0 = at startup
 * only).
 *
 * With `round` (Redis), one process of the whole deployment asks DICT per round: BCB allows
 * listBucketStates 6 times a minute per participant (POLICIES_LIST, bucket 20), which a process
 * per core on a few pods, each asking every minute, would use up. The process that wins the round
 * (a Redis lease of 0.9 × `intervalMs`, a minute when 0) asks DICT and publishes what it said; the
 * others take DICT's category from it and lower their buckets to an upper bound of DICT's tokens
 * now (participantTokensAtMost). A process that has learnt nothing yet (Redis not connected at
 * startup, or the winner still asking) tries again every second, which costs Redis calls only:
 * it asks DICT itself only once it wins a lease. While Redis is unavailable no process asks DICT:
 * the configured (or last learnt) category stays, and the in-process fallback limiter bounds
 * lookups anyway.
 */
export function startAntiscanReconciler(o: {
  limiter: AntiscanLimiter;
  dict: DictPoliciesApi;
  participant: string;
  intervalMs: number;
  log: Logger;
  round?: PoliciesRound;
  now?: () => number;
}): { reconcileNow(): Promise<void>; stop(): void } {
  const now = o.now ?? Date.now;
  // A little shorter than the interval: the winner's next tick must find its own lease gone
  // (a tick can come a few ms earlier in the lease than the claim did), or a round is lost.
  const leaseMs = o.intervalMs > 0 ? Math.round(o.intervalMs * 0.9) : 60_000;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  /** This process has taken DICT's answer (its own or another process's) at least once. */
  let learnt = false;
  const soonAgain = (): void => {
    if (!o.round || retry || stopped) return;
    retry = setTimeout(() => {
      retry = undefined;
      void reconcileNow();
    }, Math.min(leaseMs, 1_000));
    retry.unref();
  };
  // DICT's answer, ours or another process's: its tokens plus at most the refill since it was
  // given (none for an answer just received).
  const apply = async (view: PoliciesView, source: 'dict' | 'shared'): Promise<void> => {
    const category = view.category ?? o.limiter.category();
    const availableTokens = view.availableTokens === undefined ? undefined : participantTokensAtMost(view.availableTokens, view.at, category, now());
    await o.limiter.reconcile(o.participant, { ...(view.category ? { category: view.category } : {}), ...(availableTokens !== undefined ? { availableTokens } : {}) });
    learnt = true;
    o.log.debug({ source, category: o.limiter.category(), availableTokens }, 'anti-scanning buckets reconciled with DICT');
  };
  const reconcileNow = async (): Promise<void> => {
    try {
      if (o.round) {
        let won: boolean;
        try {
          won = await o.round.claim(leaseMs);
        } catch (err) {
          o.log.debug({ err: (err as Error).message }, 'anti-scanning reconcile skipped: Redis unavailable');
          soonAgain();
          return;
        }
        if (!won) {
          const shared = await o.round.latest();
          if (shared) await apply(shared, 'shared');
          else if (!learnt) soonAgain();
          return;
        }
      }
      const res = await o.dict.listPolicies();
      const mine = res.policies.find((p) => p.name === PARTICIPANT_ANTISCAN_POLICY);
      const view: PoliciesView = {
        at: now(),
        ...(res.category !== undefined && isParticipantCategory(res.category) ? { category: res.category } : {}),
        ...(mine ? { availableTokens: mine.availableTokens } : {}),
      };
      // Published first, whatever becomes of applying it here: DICT's token is spent either way.
      // Kept for three rounds, so a process that starts while the winner is asking finds the last.
      await o.round?.publish(view, 3 * leaseMs).catch((err: unknown) => o.log.debug({ err: (err as Error).message }, 'anti-scanning reconcile not shared'));
      await apply(view, 'dict');
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'anti-scanning reconcile with DICT /policies failed');
      if (!learnt) soonAgain();
    }
  };
  void reconcileNow();
  const timer = o.intervalMs > 0 ? setInterval(() => void reconcileNow(), o.intervalMs) : undefined;
  timer?.unref();
  return {
    reconcileNow,
    stop: () => {
      stopped = true;
      if (timer) clearInterval(timer);
      if (retry) clearTimeout(retry);
    },
  };
}
