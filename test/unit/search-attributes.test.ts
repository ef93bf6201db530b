// The typed search-attribute keys (workflows/search-attributes.ts) are exactly what the set-up
// scripts register with the namespace (scripts/env.sh, docker-compose.yml and the default of
// deploy/temporal-namespace.sh), names and types.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';

// dist/test/unit -> repository root
const root = join(__dirname, '..', '..', '..');
const TYPE_NAMES: Record<string, string> = { KEYWORD: 'Keyword', DATETIME: 'Datetime', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', KEYWORD_LIST: 'KeywordList' };
const ours = SEARCH_ATTRIBUTE_KEYS.map((k) => `${k.name}=${TYPE_NAMES[k.type]}`).sort();

test('scripts/env.sh registers every typed key with its type', () => {
  const line = /TEMPORAL_SEARCH_ATTRIBUTES="([^"]+)"/.exec(readFileSync(join(root, 'scripts', 'env.sh'), 'utf8'));
  assert.ok(line, 'TEMPORAL_SEARCH_ATTRIBUTES in scripts/env.sh');
  assert.deepEqual(line[1]!.split(/\s+/).sort(), ours);
});

test('docker-compose.yml registers every typed key with its type', () => {
  const line = /TEMPORAL_SEARCH_ATTRIBUTES: "([^"]+)"/.exec(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
  assert.ok(line, 'TEMPORAL_SEARCH_ATTRIBUTES in docker-compose.yml (temporal-namespace job)');
  assert.deepEqual(line[1]!.split(/\s+/).sort(), ours);
});

test('deploy/temporal-namespace.sh registers every typed key with its type by default', () => {
  const line = /TEMPORAL_SEARCH_ATTRIBUTES:-([^}]+)\}/.exec(readFileSync(join(root, 'deploy', 'temporal-namespace.sh'), 'utf8'));
  assert.ok(line, 'default TEMPORAL_SEARCH_ATTRIBUTES in deploy/temporal-namespace.sh');
  assert.deepEqual(line[1]!.split(/\s+/).sort(), ours);
});
