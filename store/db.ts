// The Postgres client (postgres.js) and small helpers shared by the store modules.
import postgres from 'postgres';

export type Sql = postgres.Sql;
/** A transaction handle; store functions take `Sql | Tx` so callers can compose them in one transaction. */
export type Tx = postgres.TransactionSql;
export type Db = Sql | Tx;

/** `searchPath`: the schema our tables live in (default: the database's own, public). */
export function createSql(url: string, opts: { max?: number; searchPath?: string } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 10,
    // Timestamps come back as Date; we turn them into ISO strings at the edges.
    onnotice: () => {},
    connection: { application_name: 'core-dict', ...(opts.searchPath ? { search_path: opts.searchPath } : {}) },
  });
}

/** Postgres error code of a failed query, e.g. '23505' for unique violations. */
export function pgCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export const iso = (d: Date | string | null | undefined): string | undefined =>
  d == null ? undefined : d instanceof Date ? d.toISOString() : new Date(d).toISOString();
