-- migrate:up

-- Our PSP's keys as we know them. DICT is the authority on what is registered; this table
-- is the source of truth for what we asked for and what DICT answered.
create table entries (
  entry_id                 uuid primary key,
  -- Insertion order, for stable keyset pagination.
  seq                      bigint generated always as identity unique,
  -- Null until DICT has generated it (EVP) or the registration failed before that.
  key                      text,
  key_type                 text not null check (key_type in ('CPF', 'CNPJ', 'PHONE', 'EMAIL', 'EVP')),
  status                   text not null check (status in ('PENDING', 'ACTIVE', 'DELETING', 'DELETED', 'FAILED')),
  participant              char(8) not null,
  branch                   text,
  account_number           text not null,
  account_type             text not null check (account_type in ('CACC', 'SVGS', 'SLRY', 'TRAN')),
  opening_date             timestamptz not null,
  owner_type               text not null check (owner_type in ('NATURAL_PERSON', 'LEGAL_PERSON')),
  tax_id_number            text not null,
  owner_name               text not null,
  trade_name               text,
  creation_date            timestamptz,
  key_ownership_date       timestamptz,
  open_claim_creation_date timestamptz,
  -- Client's request id of the CreateKey, and the BCB RequestId sent (reused on every retry).
  request_id               text not null,
  dict_request_id          uuid not null unique,
  error_name               text,
  error_detail             text,
  -- DICT's ResponseTime of the latest update applied here: a late answer to an earlier update
  -- never overwrites a later one (concurrent UpdateKeys of one key).
  dict_synced_at           timestamptz,
  created_at               timestamptz not null default now(),
  updated_at               timestamptz not null default now()
);

-- A key is live in at most one entry; deleted and failed rows stay as history.
create unique index entries_live_key on entries (key) where status in ('PENDING', 'ACTIVE', 'DELETING');
-- Key limit per account (5 natural / 20 legal person) counts live entries of the account
-- (BCB's account: participant, branch, number and type).
create index entries_live_account on entries (participant, account_number, branch, account_type)
  where status in ('PENDING', 'ACTIVE', 'DELETING');
create index entries_tax_id on entries (tax_id_number, seq);
create unique index entries_request on entries (participant, request_id);

-- Idempotency of every write by the client's request id: the same id with the same body
-- finds the same workflow; with another body it is rejected.
create table operations (
  participant   char(8) not null,
  request_id    text not null,
  operation     text not null,
  request_hash  text not null,
  workflow_id   text not null,
  -- Who asked (the call's principal): PSP participant and, when known, the end user.
  requested_by  text not null,
  -- For CREATE_ENTRY: our entry id and the BCB RequestId, fixed when the request is first
  -- accepted, so every later attempt (even a new workflow run) sends the same RequestId.
  entry_id      uuid,
  dict_request_id uuid,
  status        text not null default 'ACCEPTED' check (status in ('ACCEPTED', 'COMPLETED', 'FAILED')),
  error_name    text,
  error_detail  text,
  -- The whole failure as the caller first saw it (BCB name, source, DICT status, violations),
  -- so a replay answers exactly the same.
  failure       jsonb,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  primary key (participant, request_id)
);

-- Transactional outbox: every state change writes its event in the same transaction; a relay
-- (a later issue) publishes unpublished rows to the broker in id order.
create table outbox (
  id              bigserial primary key,
  aggregate_type  text not null,
  aggregate_id    text not null,
  event_type      text not null,
  payload         jsonb not null,
  created_at      timestamptz not null default now(),
  published_at    timestamptz
);
create index outbox_unpublished on outbox (id) where published_at is null;

-- migrate:down
drop table outbox;
drop table operations;
drop table entries;
