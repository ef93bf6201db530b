// scripts/check-runtime-deps.ts, which scripts/test.sh runs on the image's runtime tree: it
// follows our relative requires, ignores Node's built-ins, and reports a package that does not
// resolve inside the tree, naming the module that needs it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { walk } from '../../scripts/check-runtime-deps.js';

test('runtime deps: a package missing from the tree is reported with the module that requires it', () => {
  const root = mkdtempSync(join(tmpdir(), 'runtime-deps-'));
  try {
    mkdirSync(join(root, 'dist', 'api'), { recursive: true });
    mkdirSync(join(root, 'node_modules', 'present-pkg'), { recursive: true });
    writeFileSync(join(root, 'node_modules', 'present-pkg', 'package.json'), '{"name":"present-pkg","main":"index.js"}');
    writeFileSync(join(root, 'node_modules', 'present-pkg', 'index.js'), '');
    writeFileSync(join(root, 'dist', 'api', 'main.js'), 'const fs = require("node:fs"); const b = require("./b.js"); const p = require("present-pkg");');
    writeFileSync(join(root, 'dist', 'api', 'b.js'), 'require("os"); require("absent-dev-only-pkg");');
    const r = walk(root, ['dist/api/main.js']);
    assert.equal(r.files, 2);
    assert.deepEqual([...r.packages], ['present-pkg']);
    assert.deepEqual(r.missing, [{ spec: 'absent-dev-only-pkg', from: join('dist', 'api', 'b.js') }]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
