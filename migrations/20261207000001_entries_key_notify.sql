-- migrate:up

-- Every committed change to a key's entries is announced on the channel core_dict_entry_key
-- (payload: the key), so API processes can keep a short in-memory copy of our own entries for
-- LookupKey (store/own-entries.ts) and drop it the moment the key changes, whoever changed it
-- (API, worker, an operator's SQL). NOTIFY is transactional: it is sent at commit, never for a
-- rollback, and repeated payloads in one transaction are sent once.
--
-- Statement-level triggers with transition tables: a statement touching more than 1,000 rows
-- (the COPY of bench/gen-keys.ts, a bulk repair) sends one empty payload instead, which means
-- "forget every key"; TRUNCATE does the same.
create function entries_key_changed() returns trigger language plpgsql as $$
declare
  many boolean;
begin
  if tg_op = 'TRUNCATE' then
    perform pg_notify('core_dict_entry_key', '');
    return null;
  end if;
  if tg_op = 'INSERT' then
    select count(*) > 1000 into many from (select 1 from new_rows limit 1001) r;
    if many then perform pg_notify('core_dict_entry_key', ''); return null; end if;
    perform pg_notify('core_dict_entry_key', key) from (select distinct key from new_rows where key is not null) k;
  elsif tg_op = 'UPDATE' then
    select count(*) > 1000 into many from (select 1 from old_rows limit 1001) r;
    if many then perform pg_notify('core_dict_entry_key', ''); return null; end if;
    perform pg_notify('core_dict_entry_key', key)
       from (select key from old_rows where key is not null union select key from new_rows where key is not null) k;
  else
    select count(*) > 1000 into many from (select 1 from old_rows limit 1001) r;
    if many then perform pg_notify('core_dict_entry_key', ''); return null; end if;
    perform pg_notify('core_dict_entry_key', key) from (select distinct key from old_rows where key is not null) k;
  end if;
  return null;
end $$;

create trigger entries_key_inserted after insert on entries
  referencing new table as new_rows for each statement execute function entries_key_changed();
create trigger entries_key_updated after update on entries
  referencing old table as old_rows new table as new_rows for each statement execute function entries_key_changed();
create trigger entries_key_deleted after delete on entries
  referencing old table as old_rows for each statement execute function entries_key_changed();
create trigger entries_key_truncated after truncate on entries
  for each statement execute function entries_key_changed();

-- migrate:down
drop trigger entries_key_truncated on entries;
drop trigger entries_key_deleted on entries;
drop trigger entries_key_updated on entries;
drop trigger entries_key_inserted on entries;
drop function entries_key_changed();
