// The outbox -> protobuf mapping (relay/events.ts): every event name the code writes maps to its
// typed event, survives an encode/decode round trip, and lands on its subject.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { ClaimOperationReason, ClaimRole, ClaimStatus, ClaimType, EntryOperationReason, EntryStatus, KeyType, AccountType, PersonType } from '../../gen/dict/core/v1/types_pb.js';
import { EventSchema } from '../../gen/dict/events/v1/events_pb.js';
import { encodeEvent, OUTBOX_EVENT_TYPES, subjectFor, toEvent, UnknownOutboxEventError, type OutboxRow } from '../../relay/events.js';
import { EventDeduper } from '../../relay/consumer.js';

const entryPayload = {
  entryId: 'e-1',
  key: 'alice@example.com',
  keyType: 'EMAIL',
  status: 'ACTIVE',
  account: { participant: '12345678', branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2020-01-02T00:00:00.000Z' },
  owner: { type: 'NATURAL_PERSON', taxIdNumber: '11144477735', name: 'Alice' },
  creationDate: '2026-12-01T10:00:00.000Z',
  keyOwnershipDate: '2026-12-01T10:00:00.000Z',
  requestId: 'r-1',
};
const claimPayload = {
  id: 'c-1',
  claimId: 'dict-claim-1',
  role: 'CLAIMER',
  type: 'PORTABILITY',
  key: 'alice@example.com',
  keyType: 'EMAIL',
  status: 'CANCELLED',
  claimerParticipant: '12345678',
  donorParticipant: '87654321',
  resolutionPeriodEnd: '2026-12-08T10:00:00.000Z',
  completionPeriodEnd: '2026-12-15T10:00:00.000Z',
  cancelReason: 'FRAUD',
  cancelledBy: 'DONOR',
};

const row = (eventType: string, extra: Record<string, unknown> = {}): OutboxRow => {
  const entry = eventType.startsWith('Entry');
  return {
    id: '42',
    eventId: '0b8e5a8e-4c55-4a8e-9a59-1f6f0e8f3b11',
    aggregateType: entry ? 'entry' : 'claim',
    aggregateId: entry ? 'e-1' : 'c-1',
    eventType,
    payload: { ...(entry ? entryPayload : claimPayload), ...extra },
    createdAt: new Date('2026-12-04T12:00:00.000Z'),
  };
};

const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

test('every outbox event name maps to its typed event, with the envelope, through encode/decode', () => {
  for (const name of OUTBOX_EVENT_TYPES) {
    const e = fromBinary(EventSchema, encodeEvent(toEvent(row(name), '12345678')));
    assert.equal(e.event.case, lowerFirst(name), name);
    assert.equal(e.eventId, '0b8e5a8e-4c55-4a8e-9a59-1f6f0e8f3b11');
    assert.equal(e.participant, '12345678');
    assert.equal(e.sequence, 42n);
    assert.equal(timestampDate(e.occurredAt!).toISOString(), '2026-12-04T12:00:00.000Z');
    const v = e.event.value!;
    if ('entry' in v) {
      assert.equal(e.aggregateId, 'e-1');
      assert.equal(v.entry?.entryId, 'e-1');
      assert.equal(v.entry?.keyType, KeyType.EMAIL);
      assert.equal(v.entry?.status, EntryStatus.ACTIVE);
      assert.equal(v.entry?.account?.accountType, AccountType.CACC);
      assert.equal(v.entry?.owner?.type, PersonType.NATURAL_PERSON);
      assert.equal(v.entry?.owner?.taxIdNumber, '11144477735');
      assert.equal(timestampDate(v.entry!.creationDate!).toISOString(), '2026-12-01T10:00:00.000Z');
    } else if ('claim' in v) {
      assert.equal(e.aggregateId, 'c-1');
      assert.equal(v.claim?.id, 'c-1');
      assert.equal(v.claim?.claimId, 'dict-claim-1');
      assert.equal(v.claim?.type, ClaimType.PORTABILITY);
      assert.equal(v.claim?.role, ClaimRole.CLAIMER);
      assert.equal(v.claim?.status, ClaimStatus.CANCELLED);
      assert.equal(v.claim?.claimerAccount?.participant, '12345678');
      assert.equal(v.claim?.donorParticipant, '87654321');
      assert.equal(v.claim?.cancelReason, ClaimOperationReason.FRAUD);
      assert.equal(v.claim?.cancelledBy, ClaimRole.DONOR);
    } else assert.fail(`${name}: neither entry nor claim`);
  }
});

test('event-specific fields: deletion reason and claim, activation by claim, claim failure', () => {
  const del = toEvent(row('EntryDeleted', { reason: 'RECONCILIATION', claimId: 'c-9' }), '12345678');
  assert.equal(del.event.case, 'entryDeleted');
  if (del.event.case === 'entryDeleted') {
    assert.equal(del.event.value.reason, EntryOperationReason.RECONCILIATION);
    assert.equal(del.event.value.claimId, 'c-9');
  }
  const act = toEvent(row('EntryActivated', { claimId: 'c-9' }), '12345678');
  if (act.event.case === 'entryActivated') assert.equal(act.event.value.claimId, 'c-9');
  else assert.fail('entryActivated');
  const failed = toEvent(row('ClaimFailed', { status: 'FAILED', errorName: 'ClaimAlreadyExistsForKey' }), '12345678');
  if (failed.event.case === 'claimFailed') {
    assert.equal(failed.event.value.errorName, 'ClaimAlreadyExistsForKey');
    assert.equal(failed.event.value.claim?.status, ClaimStatus.FAILED);
  } else assert.fail('claimFailed');
});

test('an event name without a protobuf event is refused, not published half-typed', () => {
  assert.throws(() => toEvent(row('EntrySomethingNew'), '12345678'), UnknownOutboxEventError);
  assert.throws(() => toEvent({ ...row('EntryUpdated'), aggregateType: 'claim' }, '12345678'), UnknownOutboxEventError);
});

test('the mapping covers every event name the code writes to the outbox', () => {
  // Names written literally (eventType: 'X') and the claim status events (eventFor in store/claims.ts).
  const written = new Set<string>();
  for (const file of ['store/entries.ts', 'store/claims.ts', 'workflows/claim-common.ts', 'workflows/donor-claim.ts']) {
    const src = readFileSync(join(process.cwd(), file), 'utf8');
    for (const m of src.matchAll(/eventType: '(\w+)'/g)) written.add(m[1]!);
    const eventFor = /function eventFor[\s\S]*?\n}/.exec(src)?.[0] ?? '';
    for (const m of eventFor.matchAll(/'(Claim\w+)'/g)) written.add(m[1]!);
  }
  assert.ok(written.size >= 10, `found ${[...written].join(', ')}`);
  for (const name of written) assert.ok((OUTBOX_EVENT_TYPES as readonly string[]).includes(name), `${name} has no protobuf event`);
});

test('subjects: <prefix>.<participant>.<aggregate>.<EventName>', () => {
  assert.equal(subjectFor('dict.events', '12345678', row('EntryActivated')), 'dict.events.12345678.entry.EntryActivated');
  assert.equal(subjectFor('dict.events', '12345678', row('ClaimOpened')), 'dict.events.12345678.claim.ClaimOpened');
});

test('EventDeduper drops repeats and forgets the oldest beyond its bound', () => {
  const d = new EventDeduper(2);
  assert.equal(d.firstTime('a'), true);
  assert.equal(d.firstTime('a'), false);
  assert.equal(d.firstTime('b'), true);
  assert.equal(d.firstTime('c'), true); // 'a' forgotten
  assert.equal(d.firstTime('a'), true);
  assert.equal(d.firstTime('c'), false);
});
