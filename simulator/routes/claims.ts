// Route table of DICT's claims resource (API v2): createClaim, listClaims, getClaim,
// acknowledgeClaim, confirmClaim, cancelClaim, completeClaim. Writes are signed by the acting
// participant; queries name it in PI-RequestingParticipant. listClaims is rate limited by BCB's
// CLAIMS_LIST_WITH_ROLE / CLAIMS_LIST_WITHOUT_ROLE buckets. The rules are in ../claims.ts.
import {
  decodeAcknowledgeClaimRequest,
  decodeCancelClaimRequest,
  decodeCompleteClaimRequest,
  decodeConfirmClaimRequest,
  decodeCreateClaimRequest,
  encodeAcknowledgeClaimResponse,
  encodeCancelClaimResponse,
  encodeCompleteClaimResponse,
  encodeConfirmClaimResponse,
  encodeCreateClaimResponse,
  encodeGetClaimResponse,
  encodeListClaimsResponse,
} from '../../bridge/xml.js';
import { parseListClaimsQuery } from '../claims.js';
import { queryCaller, writeCaller } from '../identity.js';
import { SimProblem } from '../problems.js';
import { spending, type ApiRoute } from './context.js';

export const CLAIM_ROUTES: readonly ApiRoute[] = [
  {
    op: 'createClaim',
    method: 'POST',
    path: ['claims'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('createClaim', caller);
      const claim = await ctx.claims.createClaim(caller, decodeCreateClaimRequest(body).claim);
      return { status: 201, xml: encodeCreateClaimResponse({ claim, ...ctx.meta() }), write: 'createClaim' };
    },
  },
  {
    op: 'listClaims',
    method: 'GET',
    path: ['claims'],
    async handle(ctx) {
      const caller = queryCaller(ctx.req, ctx.registry);
      await ctx.gate('listClaims', caller);
      const withRole = ctx.query.has('IsDonor') || ctx.query.has('IsClaimer');
      // Scope PSP; every answer but a 500 costs a token, bad requests included.
      return spending(ctx, withRole ? 'CLAIMS_LIST_WITH_ROLE' : 'CLAIMS_LIST_WITHOUT_ROLE', caller, async () => {
        const query = parseListClaimsQuery(ctx.query);
        if (query.participant !== caller) throw new SimProblem('Forbidden', 'Participant may only list its own claims');
        const { claims, hasMore } = await ctx.claims.listClaims(query);
        return { status: 200, xml: encodeListClaimsResponse({ claims, hasMoreElements: hasMore, ...ctx.meta() }) };
      });
    },
  },
  {
    op: 'getClaim',
    method: 'GET',
    path: ['claims', ':claimId'],
    async handle(ctx) {
      const caller = queryCaller(ctx.req, ctx.registry);
      await ctx.gate('getClaim', caller);
      const claim = await ctx.claims.getClaim(caller, ctx.params['claimId']!);
      return { status: 200, xml: encodeGetClaimResponse({ claim, ...ctx.meta() }) };
    },
  },
  {
    op: 'acknowledgeClaim',
    method: 'POST',
    path: ['claims', ':claimId', 'acknowledge'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('acknowledgeClaim', caller);
      const { claim, changed } = await ctx.claims.acknowledgeClaim(caller, ctx.params['claimId']!, decodeAcknowledgeClaimRequest(body));
      return { status: 200, xml: encodeAcknowledgeClaimResponse({ claim, ...ctx.meta() }), ...(changed ? { write: 'acknowledgeClaim' as const } : {}) };
    },
  },
  {
    op: 'confirmClaim',
    method: 'POST',
    path: ['claims', ':claimId', 'confirm'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('confirmClaim', caller);
      const { claim, changed } = await ctx.claims.confirmClaim(caller, ctx.params['claimId']!, decodeConfirmClaimRequest(body));
      return { status: 200, xml: encodeConfirmClaimResponse({ claim, ...ctx.meta() }), ...(changed ? { write: 'confirmClaim' as const } : {}) };
    },
  },
  {
    op: 'cancelClaim',
    method: 'POST',
    path: ['claims', ':claimId', 'cancel'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('cancelClaim', caller);
      const { claim, changed } = await ctx.claims.cancelClaim(caller, ctx.params['claimId']!, decodeCancelClaimRequest(body));
      return { status: 200, xml: encodeCancelClaimResponse({ claim, ...ctx.meta() }), ...(changed ? { write: 'cancelClaim' as const } : {}) };
    },
  },
  {
    op: 'completeClaim',
    method: 'POST',
    path: ['claims', ':claimId', 'complete'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('completeClaim', caller);
      const r = await ctx.claims.completeClaim(caller, ctx.params['claimId']!, decodeCompleteClaimRequest(body));
      const xml = encodeCompleteClaimResponse({ claim: r.claim, entryCreationDate: r.entryCreationDate, keyOwnershipDate: r.keyOwnershipDate, ...ctx.meta() });
      return { status: 200, xml, ...(r.replayed ? {} : { write: 'completeClaim' as const }) };
    },
  },
];
