// Ids derived from business identity, for rows and DICT requests that must come out the same on
// every retry and every new workflow run (no random id to lose between attempts).
import { createHash } from 'node:crypto';

/** A UUID derived from names, in the version-4 layout DICT requires of a RequestId. */
export function stableUuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
