-- migrate:up
-- Events relay (relay/relay.ts): every outbox row gets a stable UUID, the event's id on the
-- broker. The relay sends it as JetStream's Nats-Msg-Id (the stream drops a repeat inside its
-- duplicate window) and consumers dedupe by it, so a row published twice (relay stopped between
-- publishing and marking it published) is seen once.
alter table outbox add column event_id uuid not null default gen_random_uuid();
create unique index outbox_event_id on outbox (event_id);

-- migrate:down
drop index outbox_event_id;
alter table outbox drop column event_id;
