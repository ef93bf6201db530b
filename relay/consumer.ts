// Reading the events back: an ordered JetStream consumer over the events stream that decodes
// each message (proto dict.events.v1.Event) and drops repeats by event_id, as every consumer of
// an at-least-once stream must. Used by relay/tail.ts and the tests; a template for real consumers.
import { fromBinary } from '@bufbuild/protobuf';
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { EventSchema, type Event } from '../gen/dict/events/v1/events_pb.js';

/** Remembers the last `max` event ids seen; `firstTime` is false for a repeat among them. */
export class EventDeduper {
  private readonly seen = new Set<string>();
  constructor(private readonly max = 100_000) {}

  firstTime(eventId: string): boolean {
    if (this.seen.has(eventId)) return false;
    this.seen.add(eventId);
    // A Set iterates in insertion order: drop the oldest.
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }
}

export interface ConsumeOptions {
  stream: string;
  /** Subject filter, e.g. dict.events.12345678.claim.> (default: the whole stream). */
  filterSubject?: string;
  /** 'all' (default): from the stream's first message; 'new': only what arrives from now on. */
  from?: 'all' | 'new';
}

export interface EventMeta {
  subject: string;
  streamSequence: number;
}

/** Calls onEvent once per event id, in stream order, until the returned stop() is awaited. */
export async function consumeEvents(
  js: JetStreamClient,
  o: ConsumeOptions,
  onEvent: (e: Event, meta: EventMeta) => void,
): Promise<{ stop(): Promise<void> }> {
  const consumer = await js.consumers.get(o.stream, {
    ...(o.filterSubject ? { filter_subjects: o.filterSubject } : {}),
    deliver_policy: o.from === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const dedupe = new EventDeduper();
  const loop = (async () => {
    for await (const m of messages) {
      const e = fromBinary(EventSchema, m.data);
      if (dedupe.firstTime(e.eventId)) onEvent(e, { subject: m.subject, streamSequence: m.seq });
    }
  })();
  return {
    async stop() {
      await messages.close();
      await loop;
    },
  };
}
