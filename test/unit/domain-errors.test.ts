// The error catalogue (domain/errors.ts) against BCB's own table in DICT API 2.6.1, and how
// names from outside are narrowed into it (bridge, stored failures) and mapped to gRPC codes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Code } from '@connectrpc/connect';
import { codeForBcbError } from '../../api/errors.js';
import { DictProblemError } from '../../bridge/types.js';
import { BCB_ERRORS, BCB_ERROR_NAMES, isBcbErrorName, toBcbErrorName } from '../../domain/errors.js';
import { SimProblem } from '../../simulator/problems.js';
import { findBusinessFailure } from '../../workflows/failures.js';
import { referencePath, referenceSkip } from '../support/reference.js';

const SPEC = 'bacen-dict-v2/openapi-dict-2.6.1.json';

test('every error type of DICT API 2.6.1 is in the catalogue with its HTTP status, and nothing else claims to be DICT\'s', { skip: referenceSkip(SPEC) }, () => {
  const spec = JSON.parse(readFileSync(referencePath(SPEC), 'utf8')) as { info: { description: string } };
  const d = spec.info.description;
  const table = d.slice(d.indexOf('<table id="error-definitions">'), d.indexOf('</table>', d.indexOf('<table id="error-definitions">')));
  const rows = [...table.matchAll(/<code>(\w+)<\/code>\s*<\/td>\s*<td>(\d+)<\/td>/g)].map((m) => [m[1]!, Number(m[2])] as const);
  assert.ok(rows.length >= 45, `parsed ${rows.length} rows of BCB's error table`);
  for (const [name, status] of rows) {
    assert.ok(isBcbErrorName(name), `${name} missing from domain/errors.ts`);
    assert.equal(BCB_ERRORS[name].status, status, name);
    assert.equal(BCB_ERRORS[name].origin, 'DICT', name);
  }
  const dictNames = BCB_ERROR_NAMES.filter((n) => BCB_ERRORS[n].origin === 'DICT').sort();
  assert.deepEqual(dictNames, rows.map(([n]) => n).sort());
});

test('transient names are exactly the 429/5xx ones', () => {
  for (const n of BCB_ERROR_NAMES) assert.equal(BCB_ERRORS[n].retryable, BCB_ERRORS[n].status === 429 || BCB_ERRORS[n].status >= 500, n);
});

test('an unknown DICT type narrows by status onto a general name; known names stay', () => {
  assert.equal(toBcbErrorName('ClaimAlreadyExistsForKey', 400), 'ClaimAlreadyExistsForKey');
  assert.equal(toBcbErrorName('SomethingNew', 400), 'BadRequest');
  assert.equal(toBcbErrorName('SomethingNew', 404), 'NotFound');
  assert.equal(toBcbErrorName('SomethingNew', 429), 'RateLimited');
  assert.equal(toBcbErrorName('SomethingNew', 502), 'InternalServerError');
  assert.equal(toBcbErrorName('SomethingNew', 503), 'ServiceUnavailable');
  assert.equal(toBcbErrorName('toString'), 'BadRequest');
  const e = new DictProblemError('SomethingNew', 400, 't');
  assert.equal(e.bcbError, 'BadRequest');
  assert.equal(e.dictType, 'SomethingNew');
  assert.equal(e.retryable, false);
  assert.equal(new DictProblemError('SomethingNew', 503, 't').retryable, true);
});

test('a failure payload with a name we do not know is narrowed, not trusted', () => {
  const failure = { name: 'ApplicationFailure', nonRetryable: true, type: 'Bogus', details: [{ bcbError: 'Bogus', status: 404, source: 'DICT' }] };
  assert.equal(findBusinessFailure({ cause: failure })?.bcbError, 'NotFound');
  assert.equal(findBusinessFailure({ cause: { ...failure, details: [] } })?.bcbError, 'BadRequest');
});

test('every name has a gRPC code; claim names map as the claims API needs', () => {
  for (const n of BCB_ERROR_NAMES) assert.equal(typeof codeForBcbError(n), 'number', n);
  assert.equal(codeForBcbError('ClaimAlreadyExistsForKey'), Code.AlreadyExists);
  assert.equal(codeForBcbError('ClaimKeyNotFound'), Code.NotFound);
  assert.equal(codeForBcbError('ClaimResolutionPeriodNotEnded'), Code.FailedPrecondition);
  assert.equal(codeForBcbError('DictUnreachable'), Code.Unavailable);
});

test('the simulator answers only DICT names, with the catalogue status and title', () => {
  const p = new SimProblem('ClaimOperationInvalid');
  assert.equal(p.status, 400);
  assert.equal(p.title, BCB_ERRORS.ClaimOperationInvalid.title);
  assert.throws(() => new SimProblem('DictUnreachable'), /Core DICT's own name/);
});
