// Identifier formats: ISPB, UUID (RequestId / EVP shape), SPI end-to-end id (checked and made).

const ISPB_RE = /^[0-9]{8}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 4122 section 4.4: version nibble 4, variant bits 10xx.
const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// SPI: 'E' + ISPB(8) + yyyyMMddHHmm (UTC) + 11 alphanumerics = 32 chars.
const E2E_RE = /^E([0-9]{8})([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([A-Za-z0-9]{11})$/;

/** BCB's ISPB: exactly 8 digits. */
export function isValidIspb(s: string): boolean {
  return ISPB_RE.test(s);
}

/** 8-4-4-4-12 hex, any version, either case. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** UUID version 4 (what BCB asks for in RequestId), either case. */
export function isUuidV4(s: string): boolean {
  return UUID_V4_RE.test(s);
}

/**
 * Our API's request_id: a UUID (any version, either case). It is the idempotency key of the
 * operation; DICT's own RequestId (createEntry) must be a v4 UUID, so callers forwarding it
 * verbatim should also check isUuidV4.
 */
export function isValidRequestId(s: string): boolean {
  return isUuid(s);
}

export interface EndToEndIdParts {
  ispb: string;
  /** The yyyyMMddHHmm part as an ISO-8601 UTC instant. */
  dateTime: string;
  sequence: string;
}

/** Splits an SPI end-to-end id; undefined unless the shape and the UTC date-time are valid. */
export function parseEndToEndId(s: string): EndToEndIdParts | undefined {
  const m = E2E_RE.exec(s);
  if (!m) return undefined;
  const [, ispb, y, mo, d, h, mi, seq] = m as unknown as [string, string, string, string, string, string, string, string];
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59) return undefined;
  const t = new Date(Date.UTC(year, month - 1, day, hour, minute));
  // Round-trip rejects 31 April, 29 February in common years, etc.
  if (t.getUTCFullYear() !== year || t.getUTCMonth() !== month - 1 || t.getUTCDate() !== day) return undefined;
  return { ispb, dateTime: `${y}-${mo}-${d}T${h}:${mi}:00Z`, sequence: seq };
}

/**
 * SPI end-to-end id (pacs.008 EndToEndId). DICT's schema only says `\w{32}`; we check SPI's
 * structure, so BCB's placeholder example 'E9999901012341234123412345678900' (day 34) fails.
 */
export function isValidEndToEndId(s: string): boolean {
  return parseEndToEndId(s) !== undefined;
}

const E2E_SEQUENCE_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new SPI end-to-end id for a payment by `ispb` at `at`: 'E' + ISPB + yyyyMMddHHmm (UTC) + 11
 * alphanumerics, 32 characters. `randomBelow(n)` gives an integer in [0, n) (node:crypto's
 * randomInt outside workflows): the caller brings the randomness, so this stays pure.
 */
export function newEndToEndId(ispb: string, at: Date, randomBelow: (n: number) => number): string {
  if (!isValidIspb(ispb)) throw new Error(`newEndToEndId: ISPB must be 8 digits, got "${ispb}"`);
  const stamp = at.toISOString().replace(/[^0-9]/g, '').slice(0, 12);
  let sequence = '';
  for (let i = 0; i < 11; i++) sequence += E2E_SEQUENCE_CHARS[randomBelow(E2E_SEQUENCE_CHARS.length)];
  return `E${ispb}${stamp}${sequence}`;
}
