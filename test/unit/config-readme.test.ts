// The README's configuration table is the operator's reference: every variable a program reads
// must be in it, with the program's own default. Reads config/index.ts's zod schemas
// (configSchemas) for names and defaults, and the simulator's environment schema for names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSchemas } from '../../config/index.js';

const ROOT = join(__dirname, '..', '..', '..');

interface Row {
  names: string[];
  defaultCell: string;
}

/** The rows of every table in the README's "## Configuration" section. */
function configurationRows(): Row[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  assert.ok(start >= 0, 'README.md has no "## Configuration" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, '').trim());
    const names = [...(cells[0] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!);
    rows.push({ names, defaultCell: cells[1] ?? '' });
  }
  return rows;
}

/** What the README's default cell says: the first `code` span, or the word unset/required/empty. */
function documentedDefault(cell: string): string {
  if (/^empty\b/.test(cell)) return '';
  const code = /`([^`]*)`/.exec(cell);
  return code ? code[1]! : cell.split(/\s/)[0]!;
}

/** A schema field's default as the README writes it. */
function actualDefault(field: { safeParse(v: unknown): { success: boolean; data?: unknown } }): string {
  const r = field.safeParse(undefined);
  if (!r.success) return 'required';
  return r.data === undefined ? 'unset' : String(r.data);
}

describe('README configuration table', () => {
  const rows = configurationRows();
  const single = new Map<string, Row>();
  const listed = new Set<string>();
  for (const row of rows) {
    for (const n of row.names) listed.add(n);
    if (row.names.length === 1) {
      assert.ok(!single.has(row.names[0]!), `${row.names[0]} has two rows in the README's configuration tables`);
      single.set(row.names[0]!, row);
    }
  }

  for (const [program, schema] of Object.entries(configSchemas)) {
    it(`lists every ${program} variable of config/index.ts with its default`, () => {
      const problems: string[] = [];
      for (const [name, field] of Object.entries(schema.shape)) {
        const row = single.get(name);
        if (!row) {
          problems.push(`${name}: missing (add a row "| \`${name}\` | default | meaning |" to README.md's Configuration section)`);
          continue;
        }
        const want = actualDefault(field);
        const got = documentedDefault(row.defaultCell);
        if (got !== want) problems.push(`${name}: README says default ${got}, config/index.ts has ${want}`);
      }
      assert.deepEqual(problems, []);
    });
  }

  it("lists every variable of the simulator's environment schema", () => {
    const src = readFileSync(join(ROOT, 'simulator', 'main.ts'), 'utf8');
    const start = src.indexOf('const Env = z');
    assert.ok(start >= 0, 'simulator/main.ts: no `const Env = z` schema');
    const body = src.slice(start, src.indexOf('.superRefine', start) > 0 ? src.indexOf('.superRefine', start) : undefined);
    const names = [...body.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    assert.ok(names.length >= 10, `found only ${names.length} simulator variables: has the schema moved?`);
    assert.deepEqual(names.filter((n) => !listed.has(n)), []);
  });

  it('finds the checker failing on a wrong default (self-test)', () => {
    assert.equal(documentedDefault('`8080`'), '8080');
    assert.equal(documentedDefault('unset'), 'unset');
    assert.notEqual(documentedDefault('`8081`'), actualDefault(configSchemas.api.shape.API_PORT));
    assert.equal(actualDefault(configSchemas.api.shape.DICT_TLS_CA_FILE), 'unset');
    assert.equal(actualDefault(configSchemas.worker.shape.CLAIM_POLLER_ENABLED), 'true');
  });
});
