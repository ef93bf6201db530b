// Where BCB's reference material is: $DICT_REFERENCE_DIR, else ../shared/reference beside the
// repository (how the project is laid out, CI included), else /work/shared/reference.
// Tests that need it skip on a developer machine without it, but fail under CI, where a
// silent skip would hide that the official examples were never checked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// dist/test/support -> repository root
const root = join(__dirname, '..', '..', '..');
const candidates = [...new Set([process.env.DICT_REFERENCE_DIR, join(root, '..', 'shared', 'reference'), '/work/shared/reference'])].filter(
  (d): d is string => !!d,
);

export const REFERENCE_DIR = candidates.find((d) => existsSync(d));

/** `skip` option for node:test: false when present; under CI a missing copy throws instead. */
export function referenceSkip(sub: string): false | string {
  if (REFERENCE_DIR && existsSync(join(REFERENCE_DIR, sub))) return false;
  const why = `BCB reference material not found (${sub}; looked in ${candidates.join(', ')})`;
  if (process.env.CI) throw new Error(why);
  return why;
}

export const referencePath = (sub: string): string => join(REFERENCE_DIR ?? candidates[0]!, sub);
