-- migrate:up

-- Our PSP's accounts as core banking knows them (the account registry). Core banking, or the
-- PSP's integration with it, feeds this table (scripts/accounts.sh load FILE.csv: an upsert by
-- primary key, docs/operations.md); Core DICT only reads it. The API checks that an account a
-- customer names (CreateKey, UpdateKey's new account, StartClaim/StartPortability's claimer
-- account) is here, open, and held by the customer's tax id (api/authorization.ts
-- requireOwnAccount). Rows are never deleted: an account that closes gets closed_at.
create table accounts (
  -- BCB's BrazilianAccount: participant (our ISPB), branch, number and type identify it.
  participant     char(8) not null check (participant ~ '^[0-9]{8}$'),
  -- Up to 4 digits without check digit; '' for an account without a branch (BCB's Branch absent).
  branch          text not null check (branch ~ '^[0-9]{0,4}$'),
  -- Up to 20 digits including the check digit (a letter check digit becomes 0), as in DICT.
  account_number  text not null check (account_number ~ '^[0-9]{1,20}$'),
  account_type    text not null check (account_type in ('CACC', 'SVGS', 'SLRY', 'TRAN')),
  -- The holder (titular): CPF (natural person, 11 digits) or CNPJ (legal person, 14 digits).
  tax_id_number   text not null,
  person_type     text not null check (person_type in ('NATURAL_PERSON', 'LEGAL_PERSON')),
  opening_date    timestamptz not null,
  -- Null while the account is open.
  closed_at       timestamptz,
  updated_at      timestamptz not null default now(),
  primary key (participant, branch, account_number, account_type),
  check ((person_type = 'NATURAL_PERSON' and tax_id_number ~ '^[0-9]{11}$') or (person_type = 'LEGAL_PERSON' and tax_id_number ~ '^[0-9]{14}$'))
);

-- A holder's accounts (support, reconciliation of a customer's keys against their accounts).
create index accounts_holder on accounts (tax_id_number);

-- migrate:down
drop table accounts;
