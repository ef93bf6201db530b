// bench/gen-keys.ts: the generated keys' numbering and the scale databases' names, which the
// LookupKey harness relies on (each --scales size in a database named after the dev one).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchKey, isScaleDatabaseName, scaleDatabaseUrl } from '../../bench/gen-keys.js';
import { isEvp } from '../../domain/keys.js';

test('benchKey numbers keys as EVPs, one per index', () => {
  const keys = [0, 1, 99_999, 9_999_999, 16 ** 12 - 1].map(benchKey);
  assert.equal(new Set(keys).size, keys.length);
  for (const k of keys) assert.ok(isEvp(k), k);
  assert.equal(benchKey(255), 'b3c0de00-0000-4000-8000-0000000000ff');
});

test('a scale database sits beside the given one, named after it and the size', () => {
  const { name, url } = scaleDatabaseUrl('postgres://coredict:pw@127.0.0.1:5433/core_dict?sslmode=disable', 10_000_000);
  assert.equal(name, 'core_dict_keys_10000000');
  const u = new URL(url);
  assert.equal(u.pathname, '/core_dict_keys_10000000');
  assert.equal(u.host, '127.0.0.1:5433');
  assert.equal(u.username, 'coredict');
  assert.equal(u.searchParams.get('sslmode'), 'disable');
});

test('--drop-scale-dbs matches only <db>_keys_<size>, never a look-alike', () => {
  for (const n of ['core_dict_keys_100000', 'core_dict_keys_10000000']) assert.ok(isScaleDatabaseName('core_dict', n), n);
  // LIKE would let `_` match any character; the prefix is compared as it is.
  for (const n of ['core_dict', 'core1dict_keys_5', 'core_dict-keys-5', 'core_dictXkeys_5', 'core_dict_keys_', 'core_dict_keys_NaN', 'core_dict_keys_5x', 'core_dict_keys_0', 'other_keys_5', 'core_dict_keys_5_keys_6']) assert.ok(!isScaleDatabaseName('core_dict', n), n);
});
