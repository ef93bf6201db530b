// Outbox rows -> protobuf events (proto/dict/events/v1/events.proto) and their NATS subjects.
// Pure: the relay and its unit tests use it. Every event name store/ writes today maps to one
// typed event; an unknown name is an error (the relay leaves that row unpublished and says so).
import { create, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { accountToProto, enumValue, personToProto } from '../api/mapping.js';
import type { BrazilianAccount, Person } from '../domain/types.js';
import * as core from '../gen/dict/core/v1/types_pb.js';
import { EventSchema, type Event } from '../gen/dict/events/v1/events_pb.js';

/** An outbox row as the relay reads it. */
export interface OutboxRow {
  id: string;
  eventId: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export class UnknownOutboxEventError extends Error {
  override readonly name = 'UnknownOutboxEventError';
}

/** Entry events: outbox event_type -> the envelope's oneof case. */
const ENTRY_EVENTS = {
  EntryRequested: 'entryRequested',
  EntryActivated: 'entryActivated',
  EntryRegistrationFailed: 'entryRegistrationFailed',
  EntryUpdated: 'entryUpdated',
  EntryDeleted: 'entryDeleted',
} as const;

/** Claim events: outbox event_type -> the envelope's oneof case. */
const CLAIM_EVENTS = {
  ClaimOpened: 'claimOpened',
  ClaimReceived: 'claimReceived',
  ClaimAcknowledged: 'claimAcknowledged',
  ClaimConfirmed: 'claimConfirmed',
  ClaimCompleted: 'claimCompleted',
  ClaimCancelled: 'claimCancelled',
  ClaimFailed: 'claimFailed',
  ClaimPossessionValidationRequested: 'claimPossessionValidationRequested',
} as const;

/** Every outbox event name the code writes (store/entries.ts, store/claims.ts, workflows). */
export const OUTBOX_EVENT_TYPES = [...Object.keys(ENTRY_EVENTS), ...Object.keys(CLAIM_EVENTS)] as const;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const ts = (v: unknown) => (typeof v === 'string' && v !== '' ? timestampFromDate(new Date(v)) : undefined);

function entryFromPayload(p: Record<string, unknown>): core.Entry {
  const account = p.account as BrazilianAccount | undefined;
  const owner = p.owner as Person | undefined;
  return create(core.EntrySchema, {
    entryId: str(p.entryId),
    key: str(p.key),
    keyType: enumValue(core.KeyType, optStr(p.keyType)),
    account: account ? accountToProto(account) : undefined,
    owner: owner ? personToProto(owner) : undefined,
    status: enumValue(core.EntryStatus, optStr(p.status)),
    creationDate: ts(p.creationDate),
    keyOwnershipDate: ts(p.keyOwnershipDate),
    requestId: str(p.requestId),
    errorName: str(p.errorName),
  });
}

function claimFromPayload(p: Record<string, unknown>): core.Claim {
  return create(core.ClaimSchema, {
    id: str(p.id),
    claimId: str(p.claimId),
    role: enumValue(core.ClaimRole, optStr(p.role)),
    type: enumValue(core.ClaimType, optStr(p.type)),
    key: str(p.key),
    keyType: enumValue(core.KeyType, optStr(p.keyType)),
    status: enumValue(core.ClaimStatus, optStr(p.status)),
    claimerAccount: create(core.BrazilianAccountSchema, { participant: str(p.claimerParticipant) }),
    donorParticipant: str(p.donorParticipant),
    resolutionPeriodEnd: ts(p.resolutionPeriodEnd),
    completionPeriodEnd: ts(p.completionPeriodEnd),
    confirmReason: enumValue(core.ClaimOperationReason, optStr(p.confirmReason)),
    cancelReason: enumValue(core.ClaimOperationReason, optStr(p.cancelReason)),
    cancelledBy: enumValue(core.ClaimRole, optStr(p.cancelledBy)),
    errorName: str(p.errorName),
  });
}

/** The typed event of an outbox row, in its envelope. Throws UnknownOutboxEventError. */
export function toEvent(row: OutboxRow, participant: string): Event {
  const envelope = {
    eventId: row.eventId,
    occurredAt: timestampFromDate(row.createdAt),
    participant,
    sequence: BigInt(row.id),
    aggregateId: row.aggregateId,
  };
  const p = row.payload;
  if (row.aggregateType === 'entry' && row.eventType in ENTRY_EVENTS) {
    const entry = entryFromPayload(p);
    const c = ENTRY_EVENTS[row.eventType as keyof typeof ENTRY_EVENTS];
    switch (c) {
      case 'entryActivated':
        return create(EventSchema, { ...envelope, event: { case: c, value: { entry, claimId: str(p.claimId) } } });
      case 'entryDeleted':
        return create(EventSchema, {
          ...envelope,
          event: { case: c, value: { entry, claimId: str(p.claimId), reason: enumValue(core.EntryOperationReason, optStr(p.reason)) } },
        });
      default:
        return create(EventSchema, { ...envelope, event: { case: c, value: { entry } } });
    }
  }
  if (row.aggregateType === 'claim' && row.eventType in CLAIM_EVENTS) {
    const claim = claimFromPayload(p);
    const c = CLAIM_EVENTS[row.eventType as keyof typeof CLAIM_EVENTS];
    if (c === 'claimFailed') return create(EventSchema, { ...envelope, event: { case: c, value: { claim, errorName: str(p.errorName) } } });
    return create(EventSchema, { ...envelope, event: { case: c, value: { claim } } });
  }
  throw new UnknownOutboxEventError(`outbox row ${row.id}: no protobuf event for ${row.aggregateType}/${row.eventType}`);
}

export const encodeEvent = (e: Event): Uint8Array => toBinary(EventSchema, e);

/** dict.events.<participant>.<entry|claim>.<EventName>, e.g. dict.events.12345678.entry.EntryActivated. */
export const subjectFor = (prefix: string, participant: string, row: Pick<OutboxRow, 'aggregateType' | 'eventType'>): string =>
  `${prefix}.${participant}.${row.aggregateType}.${row.eventType}`;
