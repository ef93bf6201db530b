// Route table of DICT's entries and keys resources (API v2): createEntry, getEntry, updateEntry,
// deleteEntry, checkKeys. The rules are in ../entries.ts.
import {
  decodeCheckKeysRequest,
  decodeCreateEntryRequest,
  decodeDeleteEntryRequest,
  decodeUpdateEntryRequest,
  encodeCheckKeysResponse,
  encodeCreateEntryResponse,
  encodeDeleteEntryResponse,
  encodeGetEntryResponse,
  encodeUpdateEntryResponse,
} from '../../bridge/xml.js';
import { DSIG_NS } from '../../bridge/xmldsig.js';
import { queryCaller, writeCaller } from '../identity.js';
import { SimProblem } from '../problems.js';
import { header, type ApiRoute } from './context.js';

/**
 * Cache-Control on getEntry. BCB's spec asks PSPs to honour Cache-Control; Manual Operacional
 * section 12 caps cached lookups at 180 seconds, which is what we announce.
 */
export const GET_ENTRY_MAX_AGE_SECONDS = 180;

/** Body has an XMLDSig Signature element (checkKeys may come signed or not). */
function looksSigned(xml: string): boolean {
  return xml.includes(DSIG_NS);
}

export const ENTRY_ROUTES: readonly ApiRoute[] = [
  {
    op: 'createEntry',
    method: 'POST',
    path: ['entries'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('createEntry', caller);
      const { entry, replayed } = await ctx.entries.createEntry(caller, decodeCreateEntryRequest(body));
      // Idempotent replay answers exactly like the first request (201, same entry).
      return { status: 201, xml: encodeCreateEntryResponse({ entry, ...ctx.meta() }), ...(replayed ? {} : { write: 'createEntry' as const }) };
    },
  },
  {
    op: 'getEntry',
    method: 'GET',
    path: ['entries', ':key'],
    async handle(ctx) {
      const caller = queryCaller(ctx.req, ctx.registry);
      const payerId = header(ctx.req, 'pi-payerid');
      const endToEndId = header(ctx.req, 'pi-endtoendid');
      await ctx.gate('getEntry', caller, payerId);
      // Anti-scanning (API "Limitação de requisições"): a token from the payer's and our buckets.
      const admitted = ctx.antiscan.admit(caller, payerId, ctx.params['key']!);
      if (!admitted.ok) throw new SimProblem('RateLimited', 'Anti-scanning bucket is empty', [], admitted.retryAfterSeconds);
      let entry;
      try {
        entry = await ctx.entries.getEntry(caller, { key: ctx.params['key']!, payerId, endToEndId });
      } catch (e) {
        ctx.antiscan.settle(admitted.ticket, e instanceof SimProblem && e.bcbError === 'NotFound' ? 'notFound' : 'notCounted');
        throw e;
      }
      ctx.antiscan.settle(admitted.ticket, 'found', endToEndId);
      return { status: 200, xml: encodeGetEntryResponse({ entry, ...ctx.meta() }), headers: { 'cache-control': `max-age=${GET_ENTRY_MAX_AGE_SECONDS}` } };
    },
  },
  {
    op: 'updateEntry',
    method: 'PUT',
    path: ['entries', ':key'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('updateEntry', caller);
      const { entry, changed } = await ctx.entries.updateEntry(caller, ctx.params['key']!, decodeUpdateEntryRequest(body));
      return { status: 200, xml: encodeUpdateEntryResponse({ entry, ...ctx.meta() }), ...(changed ? { write: 'updateEntry' as const } : {}) };
    },
  },
  {
    op: 'deleteEntry',
    method: 'POST',
    path: ['entries', ':key', 'delete'],
    async handle(ctx) {
      const body = await ctx.readXml();
      const caller = writeCaller(ctx.req, body, ctx.registry);
      await ctx.gate('deleteEntry', caller);
      const { key } = await ctx.entries.deleteEntry(caller, ctx.params['key']!, decodeDeleteEntryRequest(body));
      return { status: 200, xml: encodeDeleteEntryResponse({ key, ...ctx.meta() }), write: 'deleteEntry' };
    },
  },
  {
    op: 'checkKeys',
    method: 'POST',
    path: ['keys', 'check'],
    nonProduction: true,
    async handle(ctx) {
      const body = await ctx.readXml();
      // A query: BCB's CheckKeysRequest has no Signature, but one that is present must verify.
      const caller = looksSigned(body) ? writeCaller(ctx.req, body, ctx.registry) : queryCaller(ctx.req, ctx.registry);
      await ctx.gate('checkKeys', caller);
      const { keys } = decodeCheckKeysRequest(body);
      const result = await ctx.entries.checkKeys(keys);
      return { status: 200, xml: encodeCheckKeysResponse({ keys: result, ...ctx.meta() }) };
    },
  },
];
