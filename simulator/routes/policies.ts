// Route table of DICT's rate-limit policies resource (API v2 "Policies"): listBucketStates
// (GET /policies/) and getBucketState (GET /policies/{policy}) — the requesting participant's
// category and bucket states: ENTRIES_READ_PARTICIPANT_ANTISCAN and the buckets of
// simulator/ratelimit.ts. Refill is reported per 60 s, as BCB's tables give it per minute. Both
// cost a token of their own policy (POLICIES_LIST, POLICIES_READ; every answer but a 500, so an
// unknown policy's 404 too), taken before the states are read, so the answer shows it spent.
import { encodeGetPolicyResponse, encodeListPoliciesResponse, type PolicyState } from '../../bridge/xml/policies.js';
import { PARTICIPANT_ANTISCAN_POLICY } from '../../domain/antiscan.js';
import { queryCaller } from '../identity.js';
import { SimProblem } from '../problems.js';
import { RATE_LIMIT_POLICIES, type RateLimitPolicy } from '../ratelimit.js';
import { spending, type ApiContext, type ApiRoute } from './context.js';

function states(ctx: ApiContext, participant: string): { category: string; policies: PolicyState[] } {
  const a = ctx.antiscan.participantState(participant);
  const policies: PolicyState[] = [
    { name: PARTICIPANT_ANTISCAN_POLICY, availableTokens: a.availableTokens, capacity: a.capacity, refillTokens: a.refillPerMinute, refillPeriodSec: 60 },
  ];
  for (const p of RATE_LIMIT_POLICIES) {
    const s = ctx.limiter.state(p, participant);
    policies.push({ name: p, availableTokens: s.availableTokens, capacity: s.bucketSize, refillTokens: s.refillPerMinute, refillPeriodSec: 60 });
  }
  return { category: a.category, policies };
}

export const POLICY_ROUTES: readonly ApiRoute[] = [
  {
    op: 'listPolicies',
    method: 'GET',
    path: ['policies'],
    async handle(ctx) {
      const caller = queryCaller(ctx.req, ctx.registry);
      return spending(ctx, 'POLICIES_LIST', caller, () => ({ status: 200, xml: encodeListPoliciesResponse({ ...states(ctx, caller), ...ctx.meta() }) }));
    },
  },
  {
    op: 'getPolicy',
    method: 'GET',
    path: ['policies', ':policy'],
    async handle(ctx) {
      const caller = queryCaller(ctx.req, ctx.registry);
      return spending(ctx, 'POLICIES_READ', caller, () => {
        const { category, policies } = states(ctx, caller);
        const policy = policies.find((p) => p.name === ctx.params['policy']);
        if (!policy) throw new SimProblem('NotFound', `No policy ${ctx.params['policy']}`);
        return { status: 200, xml: encodeGetPolicyResponse({ category, policy, ...ctx.meta() }) };
      });
    },
  },
];
