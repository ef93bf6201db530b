import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Code } from '@connectrpc/connect';
import { codeForBcbError, fromFailure, invalidArgument } from '../../api/errors.js';
import { ServiceError } from '@temporalio/client';
import { durationMs, requestHash, temporalUnavailable } from '../../api/gateway.js';
import { nulStringField } from '../../api/interceptors.js';
import type { ExtendedEntry } from '../../domain/types.js';
import { BadRequestSchema, ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { cacheTtl, MAX_LOOKUP_CACHE_SECONDS } from '../../store/lookup-cache.js';
import { parseCacheMaxAge } from '../../bridge/client.js';

const entry = (type: 'NATURAL_PERSON' | 'LEGAL_PERSON'): ExtendedEntry => ({
  key: 'k',
  keyType: 'EMAIL',
  account: { participant: '87654321', accountNumber: '1', accountType: 'CACC', openingDate: '2020-01-01T00:00:00Z' },
  owner: { type, taxIdNumber: type === 'LEGAL_PERSON' ? '11222333000181' : '11144477735', name: 'X' },
  creationDate: '2020-01-01T00:00:00Z',
  keyOwnershipDate: '2020-01-01T00:00:00Z',
});

test('cache TTL: natural persons never, legal persons at most 180 s and never past DICT max-age', () => {
  assert.equal(cacheTtl(entry('NATURAL_PERSON'), 180), 0);
  assert.equal(cacheTtl(entry('NATURAL_PERSON'), 180, 300), 0);
  assert.equal(cacheTtl(entry('LEGAL_PERSON'), 180), 180);
  assert.equal(cacheTtl(entry('LEGAL_PERSON'), 600), MAX_LOOKUP_CACHE_SECONDS);
  assert.equal(cacheTtl(entry('LEGAL_PERSON'), 180, 30), 30);
  assert.equal(cacheTtl(entry('LEGAL_PERSON'), 60, 120), 60);
  assert.equal(cacheTtl(entry('LEGAL_PERSON'), 180, 0), 0);
});

test('request hash ignores key order and undefined fields, sees every value', () => {
  const a = requestHash({ kind: 'CREATE_ENTRY', body: { entry: { key: 'a', keyType: 'EMAIL' }, reason: 'USER_REQUESTED' } });
  const b = requestHash({ body: { reason: 'USER_REQUESTED', entry: { keyType: 'EMAIL', key: 'a', tradeName: undefined } }, kind: 'CREATE_ENTRY' });
  const c = requestHash({ kind: 'CREATE_ENTRY', body: { entry: { key: 'b', keyType: 'EMAIL' }, reason: 'USER_REQUESTED' } });
  const d = requestHash({ kind: 'UPDATE_ENTRY', body: { entry: { key: 'a', keyType: 'EMAIL' }, reason: 'USER_REQUESTED' } });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.notEqual(a, d);
});

test('BCB error names map to gRPC codes, with the name and suggestions in ErrorInfo', () => {
  assert.equal(codeForBcbError('EntryAlreadyExists'), Code.AlreadyExists);
  assert.equal(codeForBcbError('EntryLimitExceeded'), Code.FailedPrecondition);
  assert.equal(codeForBcbError('EntryLockedByClaim'), Code.FailedPrecondition);
  assert.equal(codeForBcbError('NotFound'), Code.NotFound);
  assert.equal(codeForBcbError('Forbidden'), Code.PermissionDenied);
  assert.equal(codeForBcbError('RateLimited'), Code.ResourceExhausted);
  assert.equal(codeForBcbError('ServiceUnavailable'), Code.Unavailable);
  const e = fromFailure({ bcbError: 'EntryKeyInCustodyOfDifferentParticipant', detail: 'x', status: 400, source: 'DICT' });
  assert.equal(e.code, Code.AlreadyExists);
  const info = e.findDetails(ErrorInfoSchema)[0]!;
  assert.equal(info.reason, 'EntryKeyInCustodyOfDifferentParticipant');
  assert.equal(info.domain, 'dict.bcb.gov.br');
  assert.equal(info.metadata.suggested_action, 'START_PORTABILITY');
  assert.equal(info.metadata.source, 'DICT');
});

test('invalid input lists every violation', () => {
  const e = invalidArgument([
    { field: 'key', reason: 'PATTERN', description: 'bad' },
    { field: 'owner.name', reason: 'REQUIRED', description: 'missing' },
  ]);
  assert.equal(e.code, Code.InvalidArgument);
  assert.deepEqual(e.findDetails(BadRequestSchema)[0]!.fieldViolations.map((v) => v.field), ['key', 'owner.name']);
  assert.equal(e.findDetails(ErrorInfoSchema)[0]!.reason, 'EntryInvalid');
});

test('a bad reason is BCB InvalidReason, not EntryInvalid/ClaimInvalid (DICT 2.6.1 error table)', () => {
  for (const fallback of ['EntryInvalid', 'ClaimInvalid'] as const) {
    for (const reason of ['REQUIRED', 'INVALID_ENUM', 'REASON_NOT_ALLOWED']) {
      const e = invalidArgument([{ field: 'key', reason: 'PATTERN', description: 'bad' }, { field: 'reason', reason, description: 'bad reason' }], undefined, fallback);
      assert.equal(e.code, Code.InvalidArgument);
      assert.equal(e.findDetails(ErrorInfoSchema)[0]!.reason, 'InvalidReason', `${fallback} ${reason}`);
    }
  }
});

test("DICT's Cache-Control bounds the cache: no-store/no-cache/private mean not at all", () => {
  for (const header of ['no-store', 'no-cache', 'private', 'public, no-cache="Set-Cookie"', 'max-age=60, no-store']) {
    assert.equal(cacheTtl(entry('LEGAL_PERSON'), 180, parseCacheMaxAge(header)), 0, header);
  }
  assert.equal(cacheTtl(entry('LEGAL_PERSON'), 180, parseCacheMaxAge('public, max-age=90')), 90);
  assert.equal(cacheTtl(entry('LEGAL_PERSON'), 180, parseCacheMaxAge(undefined)), 180);
});

test('NUL anywhere in a request string is found and named (Postgres text cannot hold it)', () => {
  assert.equal(nulStringField({ $typeName: 'x', key: 'a', owner: { taxIdNumber: '1\u00002' } }), 'owner.tax_id_number');
  assert.equal(nulStringField({ by: { case: 'requestId', value: '\u0000' } }), 'by');
  assert.equal(nulStringField({ list: ['ok', 'n\u0000'] }), 'list[1]');
  assert.equal(nulStringField({ key: 'fine', bytes: new Uint8Array([0]) }), undefined);
});

test('a negative or non-finite wait is no wait', () => {
  assert.equal(durationMs({ seconds: -5n, nanos: 0 }), 0);
  assert.equal(durationMs({ seconds: 2n, nanos: 500_000_000 }), 2500);
  assert.equal(durationMs(undefined), 0);
});

test('temporalUnavailable: Temporal unreachable, overloaded or too slow is UNAVAILABLE with a fixed text; anything else is left alone', () => {
  const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
  for (const code of [14, 4, 8]) {
    const direct = temporalUnavailable(grpcError(code, 'connect ECONNREFUSED 10.0.0.7:7233'));
    assert.equal(direct?.code, Code.Unavailable, `code ${code}`);
    assert.doesNotMatch(direct!.rawMessage, /10\.0\.0\.7|ECONNREFUSED/);
    // As the client throws it from workflow.start: its ServiceError wrapping the gRPC error.
    assert.equal(temporalUnavailable(new ServiceError('Failed to start Workflow', { cause: grpcError(code, 'x') }))?.code, Code.Unavailable);
  }
  assert.equal(temporalUnavailable(grpcError(3, 'invalid argument')), undefined); // a bug of ours: Internal, logged
  assert.equal(temporalUnavailable(grpcError(7, 'permission denied')), undefined);
  assert.equal(temporalUnavailable(new Error('boom')), undefined);
  assert.equal(temporalUnavailable(undefined), undefined);
});
