// A small consumer CLI: prints the events on the broker, decoded, one JSON line each (deduped
// by event_id). NATS_URL and NATS_STREAM as for the relay.
//   node dist/relay/tail.js                         every event the stream holds, then new ones
//   node dist/relay/tail.js --new                   only events published from now on
//   node dist/relay/tail.js 'dict.events.*.claim.>' only claim events (a NATS subject filter)
import { toJson } from '@bufbuild/protobuf';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EventSchema } from '../gen/dict/events/v1/events_pb.js';
import { consumeEvents } from './consumer.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const from = args.includes('--new') ? 'new' : 'all';
  const filterSubject = args.find((a) => !a.startsWith('--'));
  const nc = await connect({ servers: process.env.NATS_URL || 'nats://127.0.0.1:4222', name: 'core-dict-tail' });
  const sub = await consumeEvents(jetstream(nc), { stream: process.env.NATS_STREAM || 'DICT_EVENTS', filterSubject, from }, (e, meta) => {
    process.stdout.write(`${JSON.stringify({ subject: meta.subject, seq: meta.streamSequence, ...(toJson(EventSchema, e) as object) })}\n`);
  });
  const stop = (): void => {
    void sub.stop().then(() => nc.close());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
