-- migrate:up

-- Our side of DICT's claims (ownership and portability), one row per claim and role: the
-- projection the list RPCs read. DICT owns claim state; each row mirrors DICT's latest answer
-- (last_modified) plus what only we know: the deadline our workflow acts on next.
create table claims (
  -- Ours, fixed when the claim was accepted (StartClaim/StartPortability) or first seen (poller).
  id                    uuid primary key,
  participant           char(8) not null,
  role                  text not null check (role in ('CLAIMER', 'DONOR')),
  -- DICT's claim id; null while a claim we asked for is not yet created in DICT.
  claim_id              uuid,
  -- Client request id of the StartClaim/StartPortability that opened it (claimer side).
  request_id            text,
  type                  text not null check (type in ('OWNERSHIP', 'PORTABILITY')),
  key                   text not null,
  key_type              text not null check (key_type in ('CPF', 'CNPJ', 'PHONE', 'EMAIL', 'EVP')),
  -- BCB's ClaimStatus, plus two of ours: PENDING (accepted, not yet in DICT) and FAILED (DICT refused it).
  status                text not null check (status in ('PENDING', 'OPEN', 'WAITING_RESOLUTION', 'CONFIRMED', 'CANCELLED', 'COMPLETED', 'FAILED')),
  claimer_account       jsonb not null,
  claimer               jsonb not null,
  donor_participant     char(8),
  resolution_period_end timestamptz,
  completion_period_end timestamptz,
  -- Ownership, claimer side: the 30th day, by which our user must have validated possession.
  claimer_deadline      timestamptz,
  -- When our workflow acts next, and what it will do then (e.g. CANCEL_DEFAULT_OPERATION).
  next_deadline         timestamptz,
  next_action           text,
  last_modified         timestamptz,
  confirm_reason        text,
  cancel_reason         text,
  cancelled_by          text check (cancelled_by in ('CLAIMER', 'DONOR')),
  error_name            text,
  error_detail          text,
  workflow_id           text not null,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now()
);

create unique index claims_dict_id on claims (participant, claim_id, role) where claim_id is not null;
create unique index claims_request on claims (participant, request_id) where request_id is not null;
-- Inbox/outbox lists: by role, soonest deadline first (keyset on next_deadline, id).
create index claims_by_deadline on claims (participant, role, (coalesce(next_deadline, 'infinity'::timestamptz)), id);
create index claims_key on claims (key);

-- migrate:down
drop table claims;
