// RFC 3339 date-time (OpenAPI `format: date-time`), as DICT sends and expects it.

const DATE_TIME_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-]([0-9]{2}):([0-9]{2}))$/i;

/** Epoch milliseconds of an RFC 3339 date-time, or undefined when malformed or not a real date. */
export function parseDateTime(s: string): number | undefined {
  const m = DATE_TIME_RE.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const offH = m[9] === undefined ? 0 : Number(m[9]);
  const offM = m[10] === undefined ? 0 : Number(m[10]);
  if (offH > 23 || offM > 59) return undefined;
  const wall = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Round-trip rejects 30 February and friends.
  if (wall.getUTCFullYear() !== year || wall.getUTCMonth() !== month - 1 || wall.getUTCDate() !== day) return undefined;
  const frac = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const sign = m[8]?.startsWith('-') ? -1 : 1;
  const offsetMs = m[8]?.toUpperCase() === 'Z' ? 0 : sign * (offH * 60 + offM) * 60_000;
  return wall.getTime() + frac - offsetMs;
}

export function isDateTime(s: string): boolean {
  return parseDateTime(s) !== undefined;
}
