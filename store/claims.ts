// Our projection of DICT's claims (table `claims`), one row per claim and role. The claim
// workflows write it, always in one transaction with the effects a transition has on our
// entries and with its outbox event; the list RPCs read it.
import type { ClaimPlan } from '../domain/claim-plan.js';
import type { BrazilianAccount, Claim, ClaimOperationReason, ClaimRole, ClaimStatus, ClaimType, ExtendedClaim, KeyType, Person } from '../domain/types.js';
import type { Db, Sql, Tx } from './db.js';
import { iso } from './db.js';
import { clearEntryClaim, insertClaimedEntry, liveEntryForDonorClaim, markEntryClaimed, removeEntryForClaim } from './entries.js';
import { writeEvent } from './outbox.js';

/** BCB's claim statuses plus ours: PENDING (accepted, not yet created in DICT) and FAILED (DICT refused it). */
export type ClaimRecordStatus = ClaimStatus | 'PENDING' | 'FAILED';
export const FINAL_CLAIM_STATUSES: readonly ClaimRecordStatus[] = ['COMPLETED', 'CANCELLED', 'FAILED'];

/** What a claim workflow does when its next deadline comes (domain/claim-plan.ts). */
export type ClaimNextAction = NonNullable<ClaimPlan['onDeadline']>;

export interface ClaimRecord {
  id: string;
  participant: string;
  role: ClaimRole;
  claimId?: string;
  requestId?: string;
  type: ClaimType;
  key: string;
  keyType: KeyType;
  status: ClaimRecordStatus;
  claimerAccount: BrazilianAccount;
  claimer: Person;
  donorParticipant?: string;
  /**
   * DONOR rows: the tax id (CPF/CNPJ) of the owner of our entry the claim is about, fixed when
   * the row was first recorded (before the claim could remove that entry) and never changed: the
   * customer of ours who is party to it as donor. Undefined when we held no live entry then.
   */
  donorTaxIdNumber?: string;
  resolutionPeriodEnd?: string;
  completionPeriodEnd?: string;
  claimerDeadline?: string;
  nextDeadline?: string;
  nextAction?: ClaimNextAction;
  lastModified?: string;
  confirmReason?: ClaimOperationReason;
  cancelReason?: ClaimOperationReason;
  cancelledBy?: ClaimRole;
  errorName?: string;
  errorDetail?: string;
  workflowId: string;
  createdAt: string;
  updatedAt: string;
}

interface ClaimRow {
  id: string;
  participant: string;
  role: ClaimRole;
  claim_id: string | null;
  request_id: string | null;
  type: ClaimType;
  key: string;
  key_type: KeyType;
  status: ClaimRecordStatus;
  claimer_account: BrazilianAccount;
  claimer: Person;
  donor_participant: string | null;
  donor_tax_id_number: string | null;
  resolution_period_end: Date | null;
  completion_period_end: Date | null;
  claimer_deadline: Date | null;
  next_deadline: Date | null;
  next_action: ClaimNextAction | null;
  last_modified: Date | null;
  confirm_reason: ClaimOperationReason | null;
  cancel_reason: ClaimOperationReason | null;
  cancelled_by: ClaimRole | null;
  error_name: string | null;
  error_detail: string | null;
  workflow_id: string;
  created_at: Date;
  updated_at: Date;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function toRecord(r: ClaimRow): ClaimRecord {
  return {
    id: r.id,
    participant: r.participant,
    role: r.role,
    claimId: opt(r.claim_id),
    requestId: opt(r.request_id),
    type: r.type,
    key: r.key,
    keyType: r.key_type,
    status: r.status,
    claimerAccount: r.claimer_account,
    claimer: r.claimer,
    donorParticipant: opt(r.donor_participant),
    donorTaxIdNumber: opt(r.donor_tax_id_number),
    resolutionPeriodEnd: iso(r.resolution_period_end),
    completionPeriodEnd: iso(r.completion_period_end),
    claimerDeadline: iso(r.claimer_deadline),
    nextDeadline: iso(r.next_deadline),
    nextAction: opt(r.next_action),
    lastModified: iso(r.last_modified),
    confirmReason: opt(r.confirm_reason),
    cancelReason: opt(r.cancel_reason),
    cancelledBy: opt(r.cancelled_by),
    errorName: opt(r.error_name),
    errorDetail: opt(r.error_detail),
    workflowId: r.workflow_id,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

const eventPayload = (c: ClaimRecord): Record<string, unknown> => ({
  id: c.id,
  claimId: c.claimId,
  role: c.role,
  type: c.type,
  key: c.key,
  keyType: c.keyType,
  status: c.status,
  claimerParticipant: c.claimerAccount.participant,
  donorParticipant: c.donorParticipant,
  resolutionPeriodEnd: c.resolutionPeriodEnd,
  completionPeriodEnd: c.completionPeriodEnd,
  confirmReason: c.confirmReason,
  cancelReason: c.cancelReason,
  cancelledBy: c.cancelledBy,
});

/** Past-tense event name of reaching a status (from our side). */
function eventFor(status: ClaimRecordStatus, role: ClaimRole, first: boolean): string | undefined {
  if (first) return role === 'DONOR' ? 'ClaimReceived' : 'ClaimOpened';
  switch (status) {
    case 'WAITING_RESOLUTION':
      return 'ClaimAcknowledged';
    case 'CONFIRMED':
      return 'ClaimConfirmed';
    case 'COMPLETED':
      return 'ClaimCompleted';
    case 'CANCELLED':
      return 'ClaimCancelled';
    case 'FAILED':
      return 'ClaimFailed';
    default:
      return undefined;
  }
}

export interface AcceptClaimInput {
  id: string;
  participant: string;
  requestId: string;
  claim: Claim;
  workflowId: string;
}

/** A claim we were asked to open, recorded PENDING at acceptance so it is visible at once. Idempotent on id. */
export async function acceptClaimRequest(db: Db, c: AcceptClaimInput): Promise<ClaimRecord> {
  const inserted = await db<ClaimRow[]>`
    insert into claims (id, participant, role, request_id, type, key, key_type, status, claimer_account, claimer, workflow_id)
    values (${c.id}, ${c.participant}, 'CLAIMER', ${c.requestId}, ${c.claim.type}, ${c.claim.key}, ${c.claim.keyType}, 'PENDING',
            ${db.json(c.claim.claimerAccount as never)}, ${db.json(c.claim.claimer as never)}, ${c.workflowId})
    on conflict (id) do nothing
    returning *`;
  if (inserted[0]) return toRecord(inserted[0]);
  const rec = await getClaimById(db, c.id);
  if (!rec) throw new Error(`claim ${c.id} vanished after conflict`);
  return rec;
}

export interface RecordClaimInput {
  /** Our id: the accepted request's row (claimer) or a new id for a claim first seen. */
  id: string;
  participant: string;
  role: ClaimRole;
  claim: ExtendedClaim;
  workflowId: string;
  requestId?: string;
  claimerDeadline?: string;
  nextDeadline?: string;
  nextAction?: ClaimNextAction;
  /** Claimer completed: the entry DICT created for us. */
  completedEntry?: { entryId: string; dictRequestId: string; creationDate: string; keyOwnershipDate: string };
  /** When DICT opened the claim (its OpenClaimCreationDate on the donor's entry). */
  openedAt?: string;
  /** Donor: our entry that a completion on the claimer side (a claimer of ours too) created — never removed, never taken as the donor's. */
  claimerEntryId?: string;
}

/**
 * Mirror DICT's claim as of `claim.lastModified`, with what the transition means for our
 * entries and its outbox event, in one transaction. An answer older than the one stored is not
 * applied (DICT's order wins); the row is returned as stored.
 */
export async function recordClaim(sql: Sql, input: RecordClaimInput): Promise<ClaimRecord> {
  return (await sql.begin(async (tx) => {
    const c = input.claim;
    const prior = await findForUpdate(tx, input);
    if (prior && prior.lastModified && Date.parse(prior.lastModified) > Date.parse(c.lastModified)) return prior;
    // Donor: whose claim it is, read before applyEntryEffects can remove our entry — at the first
    // recording, or later while our entry is still there if a row lacks it (written by a worker
    // of the version before the column, during a rolling deploy).
    const needsDonor = input.role === 'DONOR' && (!prior || (prior.donorTaxIdNumber === undefined && (prior.status === 'OPEN' || prior.status === 'WAITING_RESOLUTION')));
    const donorTaxId = needsDonor ? (await liveEntryForDonorClaim(tx, input.participant, c.key, input.claimerEntryId))?.owner.taxIdNumber : undefined;
    const [row] = await tx<ClaimRow[]>`
      insert into claims (id, participant, role, claim_id, request_id, type, key, key_type, status, claimer_account, claimer,
                          donor_participant, donor_tax_id_number, resolution_period_end, completion_period_end, claimer_deadline,
                          next_deadline, next_action, last_modified, confirm_reason, cancel_reason, cancelled_by, workflow_id)
      values (${prior?.id ?? input.id}, ${input.participant}, ${input.role}, ${c.id}, ${input.requestId ?? prior?.requestId ?? null},
              ${c.type}, ${c.key}, ${c.keyType}, ${c.status}, ${tx.json(c.claimerAccount as never)}, ${tx.json(c.claimer as never)},
              ${c.donorParticipant}, ${donorTaxId ?? null}, ${c.resolutionPeriodEnd}, ${c.completionPeriodEnd ?? null}, ${input.claimerDeadline ?? null},
              ${input.nextDeadline ?? null}, ${input.nextAction ?? null}, ${c.lastModified}, ${c.confirmReason ?? null},
              ${c.cancelReason ?? null}, ${c.cancelledBy ?? null}, ${input.workflowId})
      on conflict (id) do update set
        claim_id = excluded.claim_id, status = excluded.status, donor_participant = excluded.donor_participant,
        donor_tax_id_number = coalesce(claims.donor_tax_id_number, excluded.donor_tax_id_number),
        resolution_period_end = excluded.resolution_period_end, completion_period_end = excluded.completion_period_end,
        claimer_deadline = excluded.claimer_deadline, next_deadline = excluded.next_deadline, next_action = excluded.next_action,
        last_modified = excluded.last_modified, confirm_reason = excluded.confirm_reason, cancel_reason = excluded.cancel_reason,
        cancelled_by = excluded.cancelled_by, workflow_id = excluded.workflow_id, error_name = null, error_detail = null, updated_at = now()
      returning *`;
    const rec = toRecord(row!);
    const first = !prior || prior.status === 'PENDING';
    if (!prior || prior.status !== rec.status) {
      await applyEntryEffects(tx, rec, c, input);
      const eventType = eventFor(rec.status, rec.role, first);
      if (eventType) await writeEvent(tx, { aggregateType: 'claim', aggregateId: rec.id, eventType, payload: eventPayload(rec) });
    }
    return rec;
  })) as ClaimRecord;
}

async function findForUpdate(tx: Tx, input: RecordClaimInput): Promise<ClaimRecord | undefined> {
  const rows = await tx<ClaimRow[]>`
    select * from claims
     where id = ${input.id}
        or (participant = ${input.participant} and claim_id = ${input.claim.id} and role = ${input.role})
     order by (id = ${input.id}) desc
     limit 1
     for update`;
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** What reaching a status does to our entries (BCB Manual §5, §6). */
async function applyEntryEffects(tx: Tx, rec: ClaimRecord, c: ExtendedClaim, input: RecordClaimInput): Promise<void> {
  if (rec.role === 'DONOR') {
    if (rec.status === 'OPEN' || rec.status === 'WAITING_RESOLUTION') {
      await markEntryClaimed(tx, rec.participant, rec.key, input.openedAt ?? rec.createdAt);
    } else if (rec.status === 'CONFIRMED' || rec.status === 'COMPLETED') {
      // The donor's entry leaves; an entry of the claimer's at this participant (an ownership
      // claim between two of our users) stays.
      await removeEntryForClaim(tx, rec.participant, rec.key, c.id, `CLAIM_${rec.type}`, input.claimerEntryId);
    } else if (rec.status === 'CANCELLED') {
      await clearEntryClaim(tx, rec.participant, rec.key);
    }
    return;
  }
  if (rec.status === 'COMPLETED' && input.completedEntry) {
    const e = input.completedEntry;
    await insertClaimedEntry(tx, {
      entryId: e.entryId,
      requestId: rec.requestId ?? `claim:${c.id}`,
      dictRequestId: e.dictRequestId,
      entry: { key: c.key, keyType: c.keyType, account: c.claimerAccount, owner: c.claimer },
      creationDate: e.creationDate,
      keyOwnershipDate: e.keyOwnershipDate,
      claimId: c.id,
    });
  }
}

/** An event of ours about a claim that is no DICT transition (e.g. asking our user to validate possession). */
export async function recordClaimEvent(sql: Sql, id: string, eventType: string): Promise<void> {
  await sql.begin(async (tx) => {
    const rec = await getClaimById(tx, id);
    if (!rec) throw new Error(`claim ${id} not found`);
    await writeEvent(tx, { aggregateType: 'claim', aggregateId: id, eventType, payload: eventPayload(rec) });
  });
}

/** DICT refused to open a claim we were asked for. */
export async function failClaimRequest(sql: Sql, id: string, errorName: string, errorDetail: string): Promise<ClaimRecord | undefined> {
  return (await sql.begin(async (tx) => {
    const [row] = await tx<ClaimRow[]>`
      update claims set status = 'FAILED', error_name = ${errorName}, error_detail = ${errorDetail},
                        next_deadline = null, next_action = null, updated_at = now()
       where id = ${id} and status = 'PENDING'
       returning *`;
    if (!row) return undefined;
    const rec = toRecord(row);
    await writeEvent(tx, { aggregateType: 'claim', aggregateId: rec.id, eventType: 'ClaimFailed', payload: { ...eventPayload(rec), errorName } });
    return rec;
  })) as ClaimRecord | undefined;
}

export async function getClaimById(db: Db, id: string): Promise<ClaimRecord | undefined> {
  const rows = await db<ClaimRow[]>`select * from claims where id = ${id}`;
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** A claim of ours by DICT's id; with no role given, the claimer's row first (a PSP may hold both). */
export async function getClaimByDictId(db: Db, participant: string, claimId: string, role?: ClaimRole): Promise<ClaimRecord | undefined> {
  const rows = await db<ClaimRow[]>`
    select * from claims where participant = ${participant} and claim_id = ${claimId}
       ${role ? db`and role = ${role}` : db``}
     order by role = 'CLAIMER' desc limit 1`;
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/**
 * A claim we asked DICT to open and have not yet recorded DICT's answer for (PENDING), matching
 * a claim DICT lists with us as claimer: the poller hands it over under our row and request id.
 */
export async function findOpenedRequest(db: Db, participant: string, c: ExtendedClaim): Promise<ClaimRecord | undefined> {
  const rows = await db<ClaimRow[]>`
    select * from claims
     where participant = ${participant} and role = 'CLAIMER'
       and (claim_id = ${c.id}
            or (claim_id is null and status = 'PENDING' and key = ${c.key} and type = ${c.type}
                and claimer->>'taxIdNumber' = ${c.claimer.taxIdNumber}
                and claimer_account->>'accountNumber' = ${c.claimerAccount.accountNumber}))
     order by (claim_id is not null) desc, created_at desc
     limit 1`;
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** Where the poller's first round starts when it has no cursor: the oldest open claim we hold. */
export async function oldestOpenClaimModified(db: Db, participant: string): Promise<string | undefined> {
  const [row] = await db<{ t: Date | null }[]>`
    select min(last_modified) as t from claims
     where participant = ${participant} and status in ('OPEN', 'WAITING_RESOLUTION', 'CONFIRMED')`;
  return iso(row?.t ?? null);
}

export async function getClaimByRequestId(db: Db, participant: string, requestId: string): Promise<ClaimRecord | undefined> {
  const rows = await db<ClaimRow[]>`select * from claims where participant = ${participant} and request_id = ${requestId}`;
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export interface ClaimListFilter {
  participant: string;
  role: ClaimRole;
  status?: ClaimRecordStatus;
  type?: ClaimType;
  /** Only claims this person (CPF/CNPJ) is party to at our PSP: the claimer (CLAIMER), or the owner of our entry the claim was about, as recorded (DONOR). */
  partyTaxId?: string;
}

/** Keyset position: the last row's (deadline or 'infinity', as Postgres' text, and id). The deadline is sent as text: a JS Date cannot hold 'infinity'. */
export interface ClaimCursor {
  deadline: string;
  id: string;
}

/** Soonest next deadline first; claims with none (final ones) last. */
export async function listClaims(db: Db, f: ClaimListFilter, pageSize: number, after?: ClaimCursor): Promise<{ claims: ClaimRecord[]; next?: ClaimCursor }> {
  const rows = await db<(ClaimRow & { sort_deadline: string })[]>`
    select *, coalesce(next_deadline, 'infinity'::timestamptz)::text as sort_deadline from claims
     where participant = ${f.participant} and role = ${f.role}
       ${f.status ? db`and status = ${f.status}` : db``}
       ${f.type ? db`and type = ${f.type}` : db``}
       ${
         f.partyTaxId
           ? f.role === 'CLAIMER'
             ? db`and claimer->>'taxIdNumber' = ${f.partyTaxId}`
             : db`and donor_tax_id_number = ${f.partyTaxId}`
           : db``
       }
       ${after ? db`and (coalesce(next_deadline, 'infinity'::timestamptz), id) > (${after.deadline}::text::timestamptz, ${after.id}::uuid)` : db``}
     order by coalesce(next_deadline, 'infinity'::timestamptz), id
     limit ${pageSize + 1}`;
  const page = rows.slice(0, pageSize);
  const last = page[page.length - 1];
  return {
    claims: page.map(toRecord),
    next: rows.length > pageSize && last ? { deadline: last.sort_deadline, id: last.id } : undefined,
  };
}
