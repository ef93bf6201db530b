-- migrate:up

-- Where we are the DONOR, the customer of ours whose entry the claim is about: the tax id
-- (CPF/CNPJ digits) of our entry's owner when the DONOR row was first recorded. Authorization
-- (api/authorization.ts) and the customers' ListIncomingClaims filter read it, so a claim stays
-- with the customer it was made against after the key leaves them (a later owner of the same
-- key at our PSP, or the claimer's new entry in an ownership claim between two of our users, is
-- not its party). Written once by store/claims.ts recordClaim, never overwritten; null for
-- CLAIMER rows and when we held no live entry for the key at first sight (then operators only).
alter table claims add column donor_tax_id_number text;

-- Rows recorded before this column: best effort, the entry of ours for the key that already
-- existed when the claim was first seen (live first, then the newest), so neither an entry
-- registered after the claim nor the claimer's entry created by its completion is taken.
update claims c
   set donor_tax_id_number = (
     select e.tax_id_number from entries e
      where e.key = c.key and e.participant = c.participant and e.created_at <= c.created_at
      order by (e.status in ('PENDING', 'ACTIVE', 'DELETING')) desc, e.created_at desc
      limit 1)
 where c.role = 'DONOR' and c.donor_tax_id_number is null;

-- A customer's ListIncomingClaims: their DONOR rows.
create index claims_donor_tax_id on claims (participant, donor_tax_id_number) where role = 'DONOR';

-- migrate:down
drop index claims_donor_tax_id;
alter table claims drop column donor_tax_id_number;
