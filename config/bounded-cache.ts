// The in-process LRU caches of the API, the store and the bridge (token verdicts, rate-limit
// leases, own-key copies and hints, payer holds): bounded by a number of entries, and sized by
// what they hold rather than by that bound. lru-cache's `max` option allocates its index arrays
// for `max` entries when the cache is built: for a bound of 100,000 that is two JS arrays of
// 100,000 slots (800 KB each on the heap) and three typed arrays (outside it), and with a TTL two
// more JS arrays of that length, whether the cache ever holds one entry or all of them. The API
// builds up to seven such caches, four of them bounded at 100,000 (bench/RESULTS.md, 2026-12-06).
// Counting each entry as 1 against `maxSize` gives the same bound, the same least-recently-used
// eviction and TTLs, with arrays that grow as entries arrive.
import { LRUCache } from 'lru-cache';

/** lru-cache's options other than the bound, which boundedCache sets. */
export type BoundedCacheOptions<K extends {}, V extends {}> = Omit<LRUCache.Options<K, V, unknown>, 'max' | 'maxSize' | 'sizeCalculation' | 'maxEntrySize'>;

const one = () => 1;

/** An LRU cache of at most `maxEntries` entries whose memory grows with what it holds. */
export function boundedCache<K extends {}, V extends {}>(maxEntries: number, options: BoundedCacheOptions<K, V> = {}): LRUCache<K, V> {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`a bounded cache needs a whole number of entries ≥ 1 (got ${maxEntries})`);
  return new LRUCache<K, V>({ ...options, maxSize: maxEntries, sizeCalculation: one });
}
