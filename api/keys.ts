// Key (entry) RPCs. Writes go through workflows; reads come from Postgres; LookupKey of
// another participant's key is the only synchronous DICT call the API makes.
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { boundedCache } from '../config/bounded-cache.js';
import type { Logger } from 'pino';
import { DictCircuitOpenError, DictRateLimitHoldError } from '../bridge/resilience.js';
import { DictProblemError, DictTransportError, type DictApi } from '../bridge/types.js';
import type { BrazilianAccount, Entry, EntryOperationReason, KeyType, Person } from '../domain/types.js';
import { inferKeyType, validateCreateEntry, validateDeleteEntry, validateLookup, validateUpdateEntry, type FieldViolation } from '../domain/validation.js';
import * as pb from '../gen/dict/core/v1/service_pb.js';
import * as types from '../gen/dict/core/v1/types_pb.js';
import * as entries from '../store/entries.js';
import type { LookupCache } from '../store/lookup-cache.js';
import type { OwnEntryCache } from '../store/own-entries.js';
import { entryCreateWorkflowId, entryDeleteWorkflowId, entryUpdateWorkflowId } from '../workflows/ids.js';
import { createEntryWorkflow, type CreateEntryWorkflowInput } from '../workflows/create-entry.js';
import { deleteEntryWorkflow, type DeleteEntryWorkflowInput } from '../workflows/delete-entry.js';
import { updateEntryWorkflow, type UpdateEntryWorkflowInput } from '../workflows/update-entry.js';
import { entrySearchAttributes } from '../workflows/search-attributes.js';
import { gate, type Gate } from './admission.js';
import { admitLookup, type AntiscanDeps } from './antiscan.js';
import { fromFailure, invalidArgument, notFound, unavailable } from './errors.js';
import { accountFromProto, dictEntryToProto, entryToProto, enumName, personFromProto } from './mapping.js';
import { customerTaxId, ownsEntry, requireOwnAccount, requireOwnKey, requireSelf, type AccountRegistryMode } from './authorization.js';
import { permissionDenied } from './auth.js';
import { describePrincipal, principalOf } from './principal.js';
import { requestIdKey } from './request-context.js';
import { durationMs, WorkflowGateway, type GatewayDeps, type Outcome } from './gateway.js';

export interface KeyServiceDeps extends GatewayDeps, AntiscanDeps {
  /** LookupKey's DICT read: in the API, bridge/resilience.ts's getEntry (budget, retries, breaker). */
  dict: Pick<DictApi, 'getEntry'>;
  cache: LookupCache;
  lookupCacheTtlSeconds: number;
  log: Logger;
  /** Admission of LookupKey's Postgres read (at most the pool size in flight); a default gate of 10 when absent. */
  lookupDbGate?: Gate;
  /** A short in-memory copy of our live entries, dropped as Postgres announces changes (store/own-entries.ts); absent = every own-key lookup reads Postgres. */
  ownEntries?: OwnEntryCache;
  /** How many keys recently found to be ours each process remembers, to skip the cache read for them (0 = off; default 100,000). */
  ownKeyHintMax?: number;
  /** Whether a customer's account is checked against the account registry (ACCOUNT_REGISTRY; default enforce). */
  accountRegistry?: AccountRegistryMode;
}

type KeyRpcs = Pick<ServiceImpl<typeof pb.CoreDictService>, 'createKey' | 'updateKey' | 'deleteKey' | 'getKey' | 'listKeys' | 'lookupKey'>;

const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

function check(violations: FieldViolation[]): void {
  if (violations.length) throw invalidArgument(violations);
}

function operationProto(o: Outcome<unknown, unknown>): types.Operation {
  return create(types.OperationSchema, {
    requestId: o.operation.requestId,
    workflowId: o.operation.workflowId,
    replayed: o.replayed,
    done: o.done,
  });
}

/** Opaque page token bound to its filters, so it cannot be replayed with other filters. */
function pageToken(seq: string, filterKey: string): string {
  return Buffer.from(JSON.stringify({ s: seq, f: filterKey })).toString('base64url');
}

function readPageToken(token: string, filterKey: string): string | undefined {
  if (!token) return undefined;
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { s?: unknown; f?: unknown };
    if (typeof t.s === 'string' && /^[0-9]+$/.test(t.s) && t.f === filterKey) return t.s;
  } catch {
    // fall through
  }
  throw invalidArgument([{ field: 'page_token', reason: 'INVALID_PAGE_TOKEN', description: 'not a page token of this query' }]);
}

export function keyService(d: KeyServiceDeps): KeyRpcs {
  const gateway = new WorkflowGateway(d);
  const lookupDbGate = d.lookupDbGate ?? gate('lookup-db', { maxInFlight: 10, maxQueue: 256 });
  // Keys this process recently found to be ours. Only a hint of where to look first: the cache
  // never holds our keys, so for these the Redis read is skipped and Postgres answers; when
  // Postgres says a hinted key is no longer ours the hint is dropped and the cache is read after all.
  const hintMax = d.ownKeyHintMax ?? 100_000;
  const ownKeyHint = hintMax > 0 ? boundedCache<string, true>(hintMax) : undefined;
  // LookupKey's LOCAL answer for each record still in use (no message built per lookup of a
  // record the in-memory copy holds; only read by Connect's serializer, never changed).
  const localAnswers = new WeakMap<entries.EntryRecord, pb.LookupKeyResponse>();
  /** Our current record of a key, if it belongs to the caller (our PSP's; a customer's own). */
  async function ownEntry(ctx: HandlerContext, key: string): Promise<entries.EntryRecord | undefined> {
    const rec = await entries.getLatestEntryByKey(d.sql, key);
    const p = principalOf(ctx);
    return rec && rec.account.participant === p.participant && ownsEntry(p, rec) ? rec : undefined;
  }

  return {
    async createKey(req, ctx) {
      const principal = principalOf(ctx);
      const keyType = enumName<KeyType>(types.KeyType, req.keyType);
      const reason = enumName<EntryOperationReason>(types.EntryOperationReason, req.reason);
      const account = accountFromProto(req.account);
      const owner = personFromProto(req.owner);
      check(validateCreateEntry({ requestId: req.requestId, keyType, key: req.key || undefined, account, owner, reason }, { ourIspb: principal.participant }));
      requireSelf(principal, owner?.taxIdNumber, 'the owner');
      if (d.accountRegistry !== 'off') await requireOwnAccount(d.sql, principal, account as BrazilianAccount, 'the account', req.requestId);
      const entry: Entry = { keyType: keyType!, key: req.key || undefined, account: account as BrazilianAccount, owner: owner as Person };
      const input: Omit<CreateEntryWorkflowInput, 'entryId' | 'dictRequestId'> = {
        participant: principal.participant,
        requestId: req.requestId,
        requestedBy: describePrincipal(principal),
        entry,
        reason: reason!,
      };
      const outcome = await gateway.start({
        principal,
        requestId: req.requestId,
        kind: 'CREATE_ENTRY',
        workflow: createEntryWorkflow,
        workflowId: entryCreateWorkflowId(principal.participant, req.requestId),
        fixIds: true,
        // Accepted means visible: the PENDING entry, with its fixed id, in the same transaction
        // as the request id (our key-limit and live-key checks refuse it here, synchronously).
        record: (tx, op) => entries.recordPendingEntry(tx, { entryId: op.entryId!, dictRequestId: op.dictRequestId!, requestId: req.requestId, entry }),
        args: (op) => [{ ...input, entryId: op.entryId!, dictRequestId: op.dictRequestId! }],
        body: { entry, reason },
        searchAttributes: entrySearchAttributes(entry.keyType, 'CREATE_ENTRY'),
        waitMs: durationMs(req.waitTimeout),
      });
      const rec = outcome.result ?? outcome.recorded ?? (await entries.getEntryByRequestId(d.sql, principal.participant, req.requestId));
      // What this process answers for the key from now on does not wait for Postgres' announcement.
      if (rec?.key) d.ownEntries?.drop(rec.key);
      // No row only for a request an older API accepted (before it recorded the PENDING entry)
      // whose workflow has not reserved it yet: report the request itself as PENDING.
      const shown = rec
        ? entryToProto(rec)
        : create(types.EntrySchema, { ...dictEntryToProto({ ...entry, key: entry.key ?? '' }), status: types.EntryStatus.PENDING, requestId: req.requestId });
      return create(pb.CreateKeyResponseSchema, { entry: shown, operation: operationProto(outcome) });
    },

    async updateKey(req, ctx) {
      const principal = principalOf(ctx);
      const reason = enumName<EntryOperationReason>(types.EntryOperationReason, req.reason);
      const account = accountFromProto(req.account);
      const owner = personFromProto(req.owner);
      check(validateUpdateEntry({ requestId: req.requestId, key: req.key, account, owner, reason }, { ourIspb: principal.participant }));
      requireSelf(principal, owner?.taxIdNumber, 'the owner');
      await requireOwnKey(d.sql, principal, req.key);
      if (d.accountRegistry !== 'off') await requireOwnAccount(d.sql, principal, account as BrazilianAccount, 'the account', req.requestId);
      const input: UpdateEntryWorkflowInput = {
        participant: principal.participant,
        requestId: req.requestId,
        requestedBy: describePrincipal(principal),
        key: req.key,
        account: account as BrazilianAccount,
        owner: owner as Person,
        reason: reason!,
      };
      const outcome = await gateway.start({
        principal,
        requestId: req.requestId,
        kind: 'UPDATE_ENTRY',
        workflow: updateEntryWorkflow,
        workflowId: entryUpdateWorkflowId(principal.participant, req.requestId),
        args: () => [input],
        body: { key: input.key, account: input.account, owner: input.owner, reason: input.reason },
        searchAttributes: entrySearchAttributes(inferKeyType(req.key) ?? 'UNKNOWN', 'UPDATE_ENTRY'),
        waitMs: durationMs(req.waitTimeout),
      });
      d.ownEntries?.drop(req.key);
      const rec = outcome.result ?? (await ownEntry(ctx, req.key));
      return create(pb.UpdateKeyResponseSchema, { entry: rec ? entryToProto(rec) : undefined, operation: operationProto(outcome) });
    },

    async deleteKey(req, ctx) {
      const principal = principalOf(ctx);
      const reason = enumName<EntryOperationReason>(types.EntryOperationReason, req.reason);
      check(validateDeleteEntry({ requestId: req.requestId, key: req.key, reason }));
      await requireOwnKey(d.sql, principal, req.key);
      const input: DeleteEntryWorkflowInput = {
        participant: principal.participant,
        requestId: req.requestId,
        requestedBy: describePrincipal(principal),
        key: req.key,
        reason: reason!,
      };
      const outcome = await gateway.start({
        principal,
        requestId: req.requestId,
        kind: 'DELETE_ENTRY',
        workflow: deleteEntryWorkflow,
        workflowId: entryDeleteWorkflowId(principal.participant, req.requestId),
        args: () => [input],
        body: { key: input.key, reason: input.reason },
        searchAttributes: entrySearchAttributes(inferKeyType(req.key) ?? 'UNKNOWN', 'DELETE_ENTRY'),
        waitMs: durationMs(req.waitTimeout),
      });
      d.ownEntries?.drop(req.key);
      const rec = outcome.result ?? (await ownEntry(ctx, req.key));
      return create(pb.DeleteKeyResponseSchema, { entry: rec ? entryToProto(rec) : undefined, operation: operationProto(outcome) });
    },

    async getKey(req, ctx) {
      const principal = principalOf(ctx);
      const { participant } = principal;
      let rec: entries.EntryRecord | undefined;
      switch (req.by.case) {
        case 'key':
          rec = await ownEntry(ctx, req.by.value);
          break;
        case 'requestId':
          rec = await entries.getEntryByRequestId(d.sql, participant, req.by.value);
          break;
        case 'entryId':
          if (!/^[0-9a-f-]{36}$/i.test(req.by.value)) {
            throw invalidArgument([{ field: 'entry_id', reason: 'PATTERN', description: 'must be a UUID' }]);
          }
          rec = await entries.getEntryById(d.sql, req.by.value);
          break;
        default:
          throw invalidArgument([{ field: 'by', reason: 'REQUIRED', description: 'one of key, request_id or entry_id is required' }]);
      }
      // Another PSP's, or (customer) another person's: as if it did not exist.
      if (!rec || rec.account.participant !== participant || !ownsEntry(principal, rec)) throw notFound('key');
      return create(pb.GetKeyResponseSchema, { entry: entryToProto(rec) });
    },

    async listKeys(req, ctx) {
      const principal = principalOf(ctx);
      const { participant } = principal;
      // A customer lists only their own keys (tax_id_number defaults to theirs).
      const own = customerTaxId(principal);
      if (own !== undefined && req.taxIdNumber && req.taxIdNumber !== own) throw permissionDenied('a customer can only list their own keys');
      const violations: FieldViolation[] = [];
      if (req.pageSize < 0 || req.pageSize > MAX_PAGE_SIZE) {
        violations.push({ field: 'page_size', reason: 'OUT_OF_RANGE', description: `must be between 0 and ${MAX_PAGE_SIZE}` });
      }
      check(violations);
      const filter: entries.ListFilter = {
        participant,
        taxIdNumber: own ?? (req.taxIdNumber || undefined),
        branch: req.branch || undefined,
        accountNumber: req.accountNumber || undefined,
        keyType: enumName<KeyType>(types.KeyType, req.keyType),
        status: enumName<entries.EntryStatus>(types.EntryStatus, req.status),
      };
      const filterKey = createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 12);
      const after = readPageToken(req.pageToken, filterKey);
      const page = await entries.listEntries(d.sql, filter, req.pageSize || DEFAULT_PAGE_SIZE, after);
      return create(pb.ListKeysResponseSchema, {
        entries: page.entries.map(entryToProto),
        nextPageToken: page.next ? pageToken(page.next, filterKey) : '',
      });
    },

    async lookupKey(req, ctx) {
      const principal = principalOf(ctx);
      const { participant } = principal;
      check(validateLookup({ key: req.key, payerId: req.payerId, endToEndId: req.endToEndId }));
      // BCB: PayerId is the paying end user's CPF/CNPJ; a customer looks keys up only as the payer.
      requireSelf(principal, req.payerId, 'payer_id');
      // Hot path: another participant's cached entry answers without touching Postgres. The cache
      // only ever holds DICT's answers for other participants' keys (DICT refuses our own:
      // book transfers), and our writes of a key invalidate it; an entry of ours found there
      // anyway is ignored. A Redis failure is a miss (fail-fast, behind a circuit breaker).
      const fromCache = async () => {
        const cached = await d.cache.get(req.key).catch((err: unknown) => {
          d.log.debug({ err }, 'lookup cache read failed');
          return undefined;
        });
        return cached && cached.account.participant !== participant ? create(pb.LookupKeyResponseSchema, { entry: dictEntryToProto(cached), source: 'CACHE' }) : undefined;
      };
      const hinted = ownKeyHint?.has(req.key) ?? false;
      if (!hinted) {
        const hit = await fromCache();
        if (hit) return hit;
      }
      // BCB: no DICT lookups for keys of our own participant (book transfers). A fresh in-memory
      // copy answers when there is one (dropped the moment Postgres announces a change to the key);
      // else the read passes admission control so the driver's queue stays bounded (the excess is
      // RESOURCE_EXHAUSTED).
      const readOwn = () => lookupDbGate.run(() => entries.getLiveEntryByKey(d.sql, req.key), ctx.signal);
      const own = d.ownEntries ? await d.ownEntries.read(req.key, readOwn) : await readOwn();
      if (own && own.account.participant === participant) {
        if (!hinted) ownKeyHint?.set(req.key, true);
        // Being registered: not payable yet (and DICT would refuse a book-transfer lookup).
        if (own.status === 'PENDING') throw notFound('key');
        // ACTIVE, or DELETING: still in DICT until the removal is confirmed. One answer per record:
        // a record from the in-memory copy is answered by the message built the first time.
        let res = localAnswers.get(own);
        if (!res) localAnswers.set(own, (res = create(pb.LookupKeyResponseSchema, { entry: entryToProto(own), source: 'LOCAL' })));
        return res;
      }
      if (hinted) {
        // Ours no more (deleted, or moved to another PSP by a claim): the cache may know it now.
        ownKeyHint!.delete(req.key);
        const hit = await fromCache();
        if (hit) return hit;
      }
      try {
        // BCB's anti-scanning buckets (ours and the payer's) before anything reaches DICT.
        const res = await admitLookup(d, ctx, req, () => d.dict.getEntry({ key: req.key, payerId: req.payerId, endToEndId: req.endToEndId || undefined, signal: ctx.signal }));
        await d.cache
          .put(res.entry, { ttlSeconds: d.lookupCacheTtlSeconds, dictMaxAgeSeconds: res.cacheMaxAgeSeconds })
          .catch((err: unknown) => d.log.debug({ err }, 'lookup cache write failed'));
        return create(pb.LookupKeyResponseSchema, { entry: dictEntryToProto(res.entry), source: 'DICT' });
      } catch (err) {
        if (err instanceof ConnectError) throw err; // refused by anti-scanning
        if (err instanceof DictProblemError) {
          if (err.bcbError === 'NotFound') throw notFound('key');
          if (err.status === 429) throw unavailable('DICT rate limit reached', err.retryAfterSeconds, 'RateLimited');
          if (err.retryable) throw unavailable(`DICT unavailable: ${err.message}`, err.retryAfterSeconds);
          throw fromFailure(err.failure);
        }
        if (err instanceof DictRateLimitHoldError) throw unavailable(err.message, err.retryAfterSeconds, 'RateLimited');
        if (err instanceof DictCircuitOpenError) throw unavailable(err.message, err.retryAfterSeconds, 'DictUnreachable');
        // Socket and driver texts (addresses, host names) stay in our log, never in the answer.
        if (err instanceof DictTransportError) {
          // A caller's cancel also ends here (its signal aborted the DICT call): not DICT's fault.
          if (!ctx.signal.aborted) d.log.warn({ requestId: ctx.values.get(requestIdKey), err }, 'lookup: DICT unreachable');
          throw unavailable('DICT unreachable: retry later', undefined, 'DictUnreachable');
        }
        // Anything else: the recovery interceptor logs it and answers Internal with the request id only.
        throw err;
      }
    },
  };
}

