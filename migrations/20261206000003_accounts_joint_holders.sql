-- migrate:up

-- Joint accounts: BCB's Manual (§1, key limits) counts keys per account "independentemente da
-- quantidade de titulares", so an account may have several holders, each of whom may register
-- keys on it. One row per (account, holder): the primary key takes the holder's tax id. A holder
-- who leaves an account is sent again with closed_at (that holder's row closes; the others stay).
alter table accounts drop constraint accounts_pkey;
alter table accounts add primary key (participant, branch, account_number, account_type, tax_id_number);

-- migrate:down
-- Keeps one row per account (an open one first) so the narrower key can be restored.
delete from accounts a using accounts b
 where (a.participant, a.branch, a.account_number, a.account_type) = (b.participant, b.branch, b.account_number, b.account_type)
   and (a.closed_at is not null, a.tax_id_number) > (b.closed_at is not null, b.tax_id_number);
alter table accounts drop constraint accounts_pkey;
alter table accounts add primary key (participant, branch, account_number, account_type);
