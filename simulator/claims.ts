// DICT's claim operations (API v2 createClaim, getClaim, listClaims, acknowledgeClaim,
// confirmClaim, cancelClaim, completeClaim) over decoded requests and an authenticated caller
// ISPB. The permission tables, status machine and periods are domain/claims.ts; this file applies
// them to stored claims and entries: the entry is marked (OpenClaimCreationDate) and cannot be
// deleted or re-registered while the claim is open, confirmation unlinks it from the donor,
// cancellation before confirmation releases it, completion creates the claimer's entry with
// createEntry's RequestId idempotency. Every refusal is a SimProblem with BCB's error name.
import { randomUUID } from 'node:crypto';
import {
  BCB_CLAIM_PERIODS,
  applyClaimOperation,
  checkClaimCreation,
  checkClaimOperation,
  claimDeadlines,
  isClaimAllowed,
  type ClaimCheck,
  type ClaimOperation,
  type ClaimPeriods,
} from '../domain/claims.js';
import { parseDateTime } from '../domain/dates.js';
import { isUuidV4 } from '../domain/ids.js';
import { maxKeysPerAccount } from '../domain/limits.js';
import {
  CLAIM_STATUSES,
  CLAIM_TYPES,
  type Claim,
  type ClaimRole,
  type ClaimStatus,
  type ClaimType,
  type ExtendedClaim,
  type ExtendedEntry,
} from '../domain/types.js';
import { toBcbProperty, validateDictEntry } from '../domain/validation.js';
import { SimProblem } from './problems.js';
import { accountLockName, type ClaimQuery, type ClaimRecord, type EntryRepo, type SimStore } from './store.js';

export interface ClaimsOptions {
  store: SimStore;
  now: () => Date;
  periods?: ClaimPeriods;
  checkTaxIdDigits: boolean;
}

export interface CompleteClaimOutcome {
  claim: ExtendedClaim;
  entryCreationDate: string;
  keyOwnershipDate: string;
  replayed: boolean;
}

/** listClaims' Limit: default and maximum (v2 listClaims parameters). */
export const LIST_CLAIMS_DEFAULT_LIMIT = 20;
export const LIST_CLAIMS_MAX_LIMIT = 200;

const TAX_ID_DIGIT_REASONS = new Set(['INVALID_CPF', 'INVALID_CNPJ']);

/** Claim field names as BCB writes them in violations (claim.key, claim.claimerAccount.branch …). */
function claimProperty(field: string): string {
  const bcb = toBcbProperty(field).replace(/^Account\b/, 'ClaimerAccount').replace(/^Owner\b/, 'Claimer');
  return `Claim.${bcb}`;
}

function orThrow(c: ClaimCheck): { replay: boolean } {
  if (!c.ok) throw new SimProblem(c.error, c.detail);
  return { replay: c.replay === true };
}

export class ClaimsService {
  private readonly periods: ClaimPeriods;

  constructor(private readonly opts: ClaimsOptions) {
    this.periods = opts.periods ?? BCB_CLAIM_PERIODS;
  }

  private nowIso(): string {
    return this.opts.now().toISOString();
  }

  /** createClaim by `caller` (the claimer participant). */
  async createClaim(caller: string, c: Claim): Promise<ExtendedClaim> {
    if (!isClaimAllowed(c.type, c.keyType)) {
      throw new SimProblem('ClaimInvalid', `A ${c.keyType} key cannot be claimed by ${c.type}`, [
        { reason: `KeyType ${c.keyType} is not allowed for claim type ${c.type}`, value: c.keyType, property: 'Claim.KeyType' },
      ]);
    }
    let vs = validateDictEntry({ key: c.key, keyType: c.keyType, account: c.claimerAccount, owner: c.claimer }, 'create', {
      checkTaxIdDigits: this.opts.checkTaxIdDigits,
      now: this.opts.now().getTime(),
    });
    // A CPF/CNPJ key of someone else is a question of ownership (ClaimTypeInconsistent below).
    vs = vs.filter((v) => v.reason !== 'KEY_MISMATCH_TAX_ID');
    if (!this.opts.checkTaxIdDigits) vs = vs.filter((v) => !TAX_ID_DIGIT_REASONS.has(v.reason));
    if (vs.length > 0) {
      throw new SimProblem('ClaimInvalid', 'Claim has invalid fields', vs.map((v) => ({ reason: v.description, property: claimProperty(v.field) })));
    }
    if (c.claimerAccount.participant !== caller) {
      throw new SimProblem('Forbidden', 'A participant opens claims for its own accounts only');
    }
    return this.opts.store.write([`key:${c.key}`], async (repo) => {
      const open = await repo.claims.findOpenByKey(c.key);
      if (open) throw new SimProblem('ClaimAlreadyExistsForKey', `Claim ${open.claim.id} (${open.claim.status}) is open for this key`);
      const entry = await repo.findByKey(c.key);
      if (!entry) throw new SimProblem('ClaimKeyNotFound', 'No entry is registered with the claimed key');
      orThrow(
        checkClaimCreation({
          type: c.type,
          keyType: c.keyType,
          claimerTaxIdNumber: c.claimer.taxIdNumber,
          claimerParticipant: c.claimerAccount.participant,
          entry: { keyType: entry.keyType, ownerTaxIdNumber: entry.owner.taxIdNumber, participant: entry.account.participant },
        }),
      );
      const now = this.nowIso();
      const claim: ExtendedClaim = {
        type: c.type,
        key: c.key,
        keyType: c.keyType,
        claimerAccount: { ...c.claimerAccount, openingDate: new Date(c.claimerAccount.openingDate).toISOString() },
        claimer: c.claimer,
        donorParticipant: entry.account.participant,
        id: randomUUID(),
        status: 'OPEN',
        ...claimDeadlines(c.type, now, this.periods),
        lastModified: now,
      };
      await repo.claims.insert(claim, now, entry.keyOwnershipDate);
      await repo.setOpenClaim(c.key, new Date(now));
      return claim;
    });
  }

  private static roles(participant: string, claim: ExtendedClaim): ClaimRole[] {
    const roles: ClaimRole[] = [];
    if (participant === claim.donorParticipant) roles.push('DONOR');
    if (participant === claim.claimerAccount.participant) roles.push('CLAIMER');
    return roles;
  }

  async getClaim(caller: string, id: string): Promise<ExtendedClaim> {
    const rec = isUuid(id) ? await this.opts.store.read.claims.find(id) : undefined;
    if (!rec) throw new SimProblem('NotFound', 'Claim does not exist');
    if (ClaimsService.roles(caller, rec.claim).length === 0) throw new SimProblem('Forbidden', 'Participant is neither donor nor claimer of this claim');
    return rec.claim;
  }

  async listClaims(q: ClaimQuery): Promise<{ claims: ExtendedClaim[]; hasMore: boolean }> {
    return this.opts.store.read.claims.list(q);
  }

  /**
   * Runs one claim operation for `caller` (whose body named `participant`): finds the claim and
   * the caller's role in it, checks BCB's rules, and applies the result (claim and entry) in one
   * transaction. An idempotent repeat answers the claim unchanged.
   */
  private async act<T>(
    caller: string,
    body: { claimId: string; participant: string },
    pathId: string,
    op: ClaimOperation,
    effects: (repo: EntryRepo, rec: ClaimRecord, next: ExtendedClaim, role: ClaimRole) => Promise<T>,
    replay: (rec: ClaimRecord) => T,
    extra: { locks?: (rec: ClaimRecord) => string[]; first?: (repo: EntryRepo) => Promise<T | undefined> } = {},
  ): Promise<T> {
    if (body.claimId !== pathId) throw new SimProblem('BadRequest', 'ClaimId in body differs from ClaimId in path');
    if (body.participant !== caller) throw new SimProblem('Forbidden', 'Participant in body is not the participant that signed the request');
    const first = isUuid(pathId) ? await this.opts.store.read.claims.find(pathId) : undefined;
    if (!first) throw new SimProblem('NotFound', 'Claim does not exist');
    return this.opts.store.write([`key:${first.claim.key}`, `claim:${pathId}`, ...(extra.locks?.(first) ?? [])], async (repo) => {
      const early = await extra.first?.(repo);
      if (early !== undefined) return early;
      const rec = (await repo.claims.find(pathId, true))!;
      const roles = ClaimsService.roles(caller, rec.claim);
      if (roles.length === 0) throw new SimProblem('Forbidden', 'Participant is neither donor nor claimer of this claim');
      const now = this.nowIso();
      // A participant that is both donor and claimer (ownership between two of its customers)
      // acts in whichever role the rules allow.
      let check: ClaimCheck = { ok: false, error: 'Forbidden', detail: 'no role' };
      let role: ClaimRole = roles[0]!;
      for (const r of roles) {
        const c = checkClaimOperation({ ...op, claim: rec.claim, actorRole: r, now, periods: this.periods, openedAt: rec.openedAt });
        if (c.ok || r === roles[0]) [check, role] = [c, r];
        if (c.ok) break;
      }
      if (orThrow(check).replay) return replay(rec);
      const next = applyClaimOperation(rec.claim, { ...op, actorRole: role, now });
      return effects(repo, rec, next, role);
    });
  }

  async acknowledgeClaim(caller: string, pathId: string, body: { claimId: string; participant: string }): Promise<{ claim: ExtendedClaim; changed: boolean }> {
    return this.act<{ claim: ExtendedClaim; changed: boolean }>(
      caller,
      body,
      pathId,
      { op: 'acknowledge' },
      async (repo, _rec, next) => {
        await repo.claims.update(next);
        return { claim: next, changed: true };
      },
      (rec) => ({ claim: rec.claim, changed: false }),
    );
  }

  /** Confirmation unlinks the key from the donor: the entry is removed (getEntry answers NotFound). */
  async confirmClaim(caller: string, pathId: string, body: { claimId: string; participant: string; reason: string }): Promise<{ claim: ExtendedClaim; changed: boolean }> {
    return this.act<{ claim: ExtendedClaim; changed: boolean }>(
      caller,
      body,
      pathId,
      { op: 'confirm', reason: body.reason as never },
      async (repo, rec, next) => {
        await repo.claims.update(next);
        await repo.deleteEntry(rec.claim.key);
        return { claim: next, changed: true };
      },
      (rec) => ({ claim: rec.claim, changed: false }),
    );
  }

  /**
   * Cancellation before confirmation leaves the donor's entry in place and unlocked; after
   * confirmation the donor's entry is gone already and the key is free to be registered again
   * (Manual §6: "chave … excluída do DICT e disponível para um novo registro").
   */
  async cancelClaim(caller: string, pathId: string, body: { claimId: string; participant: string; reason: string }): Promise<{ claim: ExtendedClaim; changed: boolean }> {
    return this.act<{ claim: ExtendedClaim; changed: boolean }>(
      caller,
      body,
      pathId,
      { op: 'cancel', reason: body.reason as never },
      async (repo, rec, next) => {
        await repo.claims.update(next);
        if (rec.claim.status !== 'CONFIRMED') await repo.setOpenClaim(rec.claim.key, null);
        return { claim: next, changed: true };
      },
      (rec) => ({ claim: rec.claim, changed: false }),
    );
  }

  /**
   * Completion creates the claimer's entry. Idempotent like createEntry: the same RequestId for
   * the same claim answers the first result; a RequestId the participant used for anything else
   * is RequestIdAlreadyUsed. A portability keeps the key's KeyOwnershipDate; an ownership claim
   * starts a new one.
   */
  async completeClaim(caller: string, pathId: string, body: { claimId: string; participant: string; requestId: string }): Promise<CompleteClaimOutcome> {
    if (!isUuidV4(body.requestId)) {
      throw new SimProblem('BadRequest', 'RequestId must be a UUID version 4', [{ reason: 'RequestId must be a UUID version 4', value: body.requestId, property: 'RequestId' }]);
    }
    const fingerprint = `completeClaim:${pathId}`;
    const prior = await this.opts.store.read.findCreateRequest(caller, body.requestId);
    if (prior) return this.replayCompletion(caller, prior.fingerprint, fingerprint, pathId, body);
    return this.act<CompleteClaimOutcome>(
      caller,
      body,
      pathId,
      { op: 'complete' },
      async (repo, rec, next) => {
        const c = rec.claim;
        if (await repo.findByKey(c.key)) throw new SimProblem('ClaimResultingEntryAlreadyExists', 'The key is registered already');
        const limit = maxKeysPerAccount(c.claimer.type);
        if ((await repo.countByAccount(c.claimerAccount)) >= limit) {
          throw new SimProblem('EntryLimitExceeded', `Account already has the maximum of ${limit} entries`);
        }
        const now = next.lastModified;
        const entry: ExtendedEntry = {
          key: c.key,
          keyType: c.keyType,
          account: c.claimerAccount,
          owner: c.claimer,
          creationDate: now,
          keyOwnershipDate: c.type === 'PORTABILITY' ? rec.keyOwnershipDate : now,
        };
        await repo.insertEntry(entry, body.requestId, new Date(now));
        await repo.insertCreateRequest(caller, body.requestId, fingerprint, entry, new Date(now));
        const completion = { requestId: body.requestId, entryCreationDate: entry.creationDate, keyOwnershipDate: entry.keyOwnershipDate };
        await repo.claims.update(next, completion);
        return { claim: next, entryCreationDate: entry.creationDate, keyOwnershipDate: entry.keyOwnershipDate, replayed: false };
      },
      () => {
        throw new SimProblem('ClaimOperationInvalid', 'Claim cannot be completed');
      },
      {
        locks: (rec) => [`req:${caller}:${body.requestId}`, accountLockName(rec.claim.claimerAccount)],
        // Re-checked under the RequestId lock: a concurrent twin may have finished first.
        first: async (repo) => {
          const again = await repo.findCreateRequest(caller, body.requestId);
          return again ? this.replayCompletion(caller, again.fingerprint, fingerprint, pathId, body, repo) : undefined;
        },
      },
    );
  }

  private async replayCompletion(
    caller: string,
    priorFingerprint: string,
    fingerprint: string,
    pathId: string,
    body: { claimId: string; participant: string },
    repo: EntryRepo = this.opts.store.read,
  ): Promise<CompleteClaimOutcome> {
    if (priorFingerprint !== fingerprint || body.claimId !== pathId || body.participant !== caller) {
      throw new SimProblem('RequestIdAlreadyUsed', 'RequestId was already used with different parameters');
    }
    const rec = (await repo.claims.find(pathId))!;
    return { claim: rec.claim, entryCreationDate: rec.completion!.entryCreationDate, keyOwnershipDate: rec.completion!.keyOwnershipDate, replayed: true };
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/**
 * listClaims query parameters (BCB's names) → a ClaimQuery; BadRequest with one violation per bad
 * parameter.
 */
export function parseListClaimsQuery(q: URLSearchParams): ClaimQuery {
  const violations: { reason: string; value?: string; property: string }[] = [];
  const one = (name: string): string | undefined => q.get(name) ?? undefined;
  const bool = (name: string): boolean | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    if (v === 'true' || v === 'false') return v === 'true';
    violations.push({ reason: 'must be true or false', value: v, property: name });
    return undefined;
  };
  const date = (name: string): Date | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    const t = parseDateTime(v);
    if (t === undefined) {
      violations.push({ reason: 'must be an RFC 3339 date-time', value: v, property: name });
      return undefined;
    }
    return new Date(t);
  };
  const participant = one('Participant');
  if (participant === undefined) violations.push({ reason: 'is required', property: 'Participant' });
  else if (!/^[0-9]{8}$/.test(participant)) violations.push({ reason: "Value does not match regex '^[0-9]{8}$'", value: participant, property: 'Participant' });
  const isDonor = bool('IsDonor');
  const isClaimer = bool('IsClaimer');
  const statuses = q.getAll('Status');
  for (const s of statuses) if (!(CLAIM_STATUSES as readonly string[]).includes(s)) violations.push({ reason: `must be one of ${CLAIM_STATUSES.join(', ')}`, value: s, property: 'Status' });
  const type = one('Type');
  if (type !== undefined && !(CLAIM_TYPES as readonly string[]).includes(type)) violations.push({ reason: `must be one of ${CLAIM_TYPES.join(', ')}`, value: type, property: 'Type' });
  const modifiedAfter = date('ModifiedAfter');
  const modifiedBefore = date('ModifiedBefore');
  const limitText = one('Limit');
  let limit = LIST_CLAIMS_DEFAULT_LIMIT;
  if (limitText !== undefined) {
    if (!/^[0-9]{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > LIST_CLAIMS_MAX_LIMIT) {
      violations.push({ reason: `must be an integer in 1..${LIST_CLAIMS_MAX_LIMIT}`, value: limitText, property: 'Limit' });
    } else limit = Number(limitText);
  }
  if (violations.length > 0) throw new SimProblem('BadRequest', 'Invalid query parameters', violations);
  // IsDonor/IsClaimer: equal values (or none) mean donor OR claimer; otherwise the side asked for.
  const wantDonor = isDonor ?? (isClaimer === undefined ? undefined : !isClaimer);
  const wantClaimer = isClaimer ?? (isDonor === undefined ? undefined : !isDonor);
  const role: ClaimQuery['role'] = wantDonor === wantClaimer ? 'EITHER' : wantDonor ? 'DONOR' : 'CLAIMER';
  return {
    participant: participant!,
    role,
    statuses: statuses as ClaimStatus[],
    ...(type !== undefined ? { type: type as ClaimType } : {}),
    ...(modifiedAfter !== undefined ? { modifiedAfter } : {}),
    ...(modifiedBefore !== undefined ? { modifiedBefore } : {}),
    limit,
  };
}
