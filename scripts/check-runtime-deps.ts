// What the container image's runtime stage holds is enough to run every program it starts
// (deploy/Dockerfile: the compiled dist/, production node_modules — `npm prune --omit=dev` — the
// migrations and package.json). No Docker engine is needed: scripts/test.sh builds that tree in a
// temporary directory (`npm ci --omit=dev` and a copy of dist/), and this walks the static
// require() graph of each entry point the image is started with (docker-compose.yml,
// deploy/k8s), from that tree: every module ours needs must resolve there, so a runtime import of
// a devDependency fails here instead of in a pod. It also runs `dbmate --version`, the migrate
// job's binary, from that tree.
//
//   node dist/scripts/check-runtime-deps.js <runtime tree> <entry.js relative to it>...
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
// require("x"), require.resolve("x") (e.g. the worker's workflowsPath, bundled at runtime) and import("x").
const REQUIRE = /\b(?:require(?:\.resolve)?|import)\(\s*["']([^"']+)["']\s*[,)]/g;

/** Bare specifiers our compiled modules reachable from `entries` require, and the files that do. */
export function walk(root: string, entries: string[]): { missing: { spec: string; from: string }[]; files: number; packages: Set<string> } {
  const seen = new Set<string>();
  const missing: { spec: string; from: string }[] = [];
  const packages = new Set<string>();
  const queue = entries.map((e) => resolve(root, e));
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const req = createRequire(file);
    for (const m of readFileSync(file, 'utf8').matchAll(REQUIRE)) {
      const spec = m[1]!;
      if (BUILTINS.has(spec)) continue;
      let target: string;
      try {
        target = req.resolve(spec);
      } catch {
        missing.push({ spec, from: file.slice(root.length + 1) });
        continue;
      }
      if (spec.startsWith('.')) queue.push(target);
      else {
        packages.add(spec);
        if (!target.startsWith(join(root, 'node_modules'))) missing.push({ spec: `${spec} (resolved outside the tree: ${target})`, from: file.slice(root.length + 1) });
      }
    }
  }
  return { missing, files: seen.size, packages };
}

function main(): void {
  const [rootArg, ...entries] = process.argv.slice(2);
  if (!rootArg || !entries.length) {
    console.error('usage: check-runtime-deps <runtime tree> <entry.js>...');
    process.exit(2);
  }
  const root = resolve(rootArg);
  for (const e of entries) if (!existsSync(join(root, e))) throw new Error(`entry ${e} not in ${root}`);
  const { missing, files, packages } = walk(root, entries);
  const dbmate = join(root, 'node_modules', '.bin', 'dbmate');
  let dbmateVersion = '';
  try {
    dbmateVersion = execFileSync(dbmate, ['--version'], { encoding: 'utf8' }).trim();
  } catch (err) {
    missing.push({ spec: `dbmate binary (${(err as Error).message.split('\n')[0]})`, from: 'the migrate job' });
  }
  for (const m of missing) console.error(`runtime tree lacks ${m.spec} (required by ${m.from})`);
  if (missing.length) process.exit(1);
  console.log(`runtime tree ok: ${entries.length} entry points, ${files} of our modules, ${packages.size} packages, ${dbmateVersion}`);
}

if (require.main === module) main();
