import type { Db } from './db.js';

export interface OutboxEvent {
  aggregateType: 'entry' | 'claim';
  aggregateId: string;
  /** Past-tense BCB-vocabulary names: EntryRequested, EntryActivated, ... */
  eventType: string;
  payload: Record<string, unknown>;
}

/** Append an event; call it inside the transaction that makes the state change it reports. */
export async function writeEvent(db: Db, e: OutboxEvent): Promise<void> {
  await db`
    insert into outbox (aggregate_type, aggregate_id, event_type, payload)
    values (${e.aggregateType}, ${e.aggregateId}, ${e.eventType}, ${db.json(e.payload as never)})`;
}
