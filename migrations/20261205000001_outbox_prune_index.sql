-- migrate:up
-- Outbox pruning (relay/prune.ts): the relay deletes rows published longer ago than
-- OUTBOX_RETENTION_HOURS, oldest first, in bounded batches. This index finds them without
-- scanning the table; unpublished rows (published_at null) are not in it and never deleted.
create index outbox_published_at on outbox (published_at) where published_at is not null;

-- migrate:down
drop index outbox_published_at;
