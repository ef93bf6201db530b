// Cache of other participants' entries answered by DICT's getEntry. BCB allows caching only
// entries owned by legal persons, for at most 180 seconds; natural persons' never are.
import type { Redis } from 'ioredis';
import type { ExtendedEntry } from '../domain/types.js';

export const MAX_LOOKUP_CACHE_SECONDS = 180;
const prefix = 'dict:entry:';

export interface LookupCache {
  get(key: string): Promise<ExtendedEntry | undefined>;
  /** Stores only when BCB allows it; returns the TTL used (0 = not cached). */
  put(entry: ExtendedEntry, opts: { ttlSeconds: number; dictMaxAgeSeconds?: number }): Promise<number>;
  invalidate(key: string): Promise<void>;
}

export function cacheTtl(entry: ExtendedEntry, ttlSeconds: number, dictMaxAgeSeconds?: number): number {
  if (entry.owner.type !== 'LEGAL_PERSON') return 0;
  const bounds = [ttlSeconds, MAX_LOOKUP_CACHE_SECONDS];
  if (dictMaxAgeSeconds !== undefined) bounds.push(dictMaxAgeSeconds);
  return Math.max(0, Math.floor(Math.min(...bounds)));
}

export function createLookupCache(redis: Redis): LookupCache {
  return {
    async get(key) {
      const raw = await redis.get(prefix + key);
      return raw ? (JSON.parse(raw) as ExtendedEntry) : undefined;
    },
    async put(entry, { ttlSeconds, dictMaxAgeSeconds }) {
      const ttl = cacheTtl(entry, ttlSeconds, dictMaxAgeSeconds);
      if (ttl > 0) await redis.set(prefix + entry.key, JSON.stringify(entry), 'EX', ttl);
      return ttl;
    },
    async invalidate(key) {
      await redis.del(prefix + key);
    },
  };
}
