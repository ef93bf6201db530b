// How a DICT lookup's end counts in our anti-scanning buckets (api/antiscan.ts outcomeOf), per
// DICT API 2.6.1 "Regras de contagem": only 200 and 404 subtract; a request that may have reached
// DICT unseen is kept as a hit; a lookup the caller abandoned is charged as DICT's worst case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outcomeOf } from '../../api/antiscan.js';
import { DictCircuitOpenError, DictRateLimitHoldError } from '../../bridge/resilience.js';
import { DictProblemError, DictTransportError } from '../../bridge/types.js';

const problem = (type: string, status: number) => new DictProblemError(`https://dict.pi.rsfn.net.br/api/v2/error/${type}`, status, type);
const socket = (code: string) => new DictTransportError(`GET /entries/x: ${code}`, Object.assign(new Error(code), { code }));

test('DICT answers: 404 is a not-found, 429 keeps the charge, other statuses are not counted', () => {
  assert.equal(outcomeOf(problem('NotFound', 404), false), 'notFound');
  assert.equal(outcomeOf(problem('RateLimited', 429), false), 'keep');
  assert.equal(outcomeOf(problem('ServiceUnavailable', 503), false), 'notCounted');
  assert.equal(outcomeOf(problem('InternalServerError', 500), false), 'notCounted');
  assert.equal(outcomeOf(problem('BadRequest', 400), false), 'notCounted');
});

test('requests that never left are given back', () => {
  assert.equal(outcomeOf(new DictCircuitOpenError(5), false), 'notCounted');
  assert.equal(outcomeOf(new DictRateLimitHoldError(1), false), 'notCounted');
  assert.equal(outcomeOf(socket('ECONNREFUSED'), false), 'notCounted');
  assert.equal(outcomeOf(socket('ENOTFOUND'), false), 'notCounted');
});

test('requests DICT may have counted unseen keep the charge; abandoned ones cost a not-found', () => {
  assert.equal(outcomeOf(new DictTransportError('lookup attempt timed out after 800 ms'), false), 'keep');
  assert.equal(outcomeOf(socket('ECONNRESET'), false), 'keep');
  assert.equal(outcomeOf(new DictTransportError('lookup attempt timed out after 800 ms'), true), 'notFound');
  assert.equal(outcomeOf(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }), true), 'notFound');
  // Never left, even if the caller gave up meanwhile.
  assert.equal(outcomeOf(new DictCircuitOpenError(5), true), 'notCounted');
});
