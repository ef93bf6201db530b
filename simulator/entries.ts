// DICT's entries rules (API v2 createEntry/getEntry/updateEntry/deleteEntry/checkKeys), over the
// decoded requests and an authenticated caller ISPB. Transport, signatures and XML live in
// server.ts; every refusal here is a SimProblem carrying BCB's error name.
import { createHash, randomUUID } from 'node:crypto';
import { isUuidV4 } from '../domain/ids.js';
import { maxKeysPerAccount } from '../domain/limits.js';
import { isReasonAllowed } from '../domain/reasons.js';
import type { BrazilianAccount, Entry, EntryOperationReason, ExtendedEntry, Person } from '../domain/types.js';
import { toBcbProperty, validateDictEntry, validateLookup, type FieldViolation } from '../domain/validation.js';
import { SimProblem, type SimViolation } from './problems.js';
import { accountLockName, type SimStore } from './store.js';

export interface CreateEntryCommand {
  entry: Entry;
  reason: string;
  requestId: string;
}

export interface UpdateEntryCommand {
  key: string;
  /** Optional in BCB's schema: absent means "keep". */
  account?: BrazilianAccount;
  owner?: Person;
  reason: string;
}

export interface DeleteEntryCommand {
  key: string;
  participant: string;
  reason: string;
}

export interface LookupCommand {
  key: string;
  payerId?: string;
  endToEndId?: string;
}

export interface EntriesOptions {
  store: SimStore;
  now: () => Date;
  /** Check CPF/CNPJ check digits (real DICT does); false to replay BCB's examples (11122233300). */
  checkTaxIdDigits: boolean;
}

const TAX_ID_DIGIT_REASONS = new Set(['INVALID_CPF', 'INVALID_CNPJ']);

function toViolations(vs: FieldViolation[], values: Record<string, string | undefined> = {}): SimViolation[] {
  return vs.map((v) => {
    const value = values[v.field];
    return { reason: v.description, property: toBcbProperty(v.field), ...(value !== undefined ? { value } : {}) };
  });
}

function entryValues(e: Partial<Entry>): Record<string, string | undefined> {
  return {
    key: e.key,
    key_type: e.keyType,
    'account.participant': e.account?.participant,
    'account.branch': e.account?.branch,
    'account.account_number': e.account?.accountNumber,
    'account.account_type': e.account?.accountType,
    'account.opening_date': e.account?.openingDate,
    'owner.type': e.owner?.type,
    'owner.tax_id_number': e.owner?.taxIdNumber,
    'owner.name': e.owner?.name,
    'owner.trade_name': e.owner?.tradeName,
  };
}

/** Canonical content of a creation request: what makes a RequestId replay "the same request". */
export function createFingerprint(e: Entry): string {
  const canon = {
    key: e.key ?? null,
    keyType: e.keyType,
    account: {
      participant: e.account.participant,
      branch: e.account.branch ?? null,
      accountNumber: e.account.accountNumber,
      accountType: e.account.accountType,
      openingDate: new Date(e.account.openingDate).toISOString(),
    },
    owner: {
      type: e.owner.type,
      taxIdNumber: e.owner.taxIdNumber,
      name: e.owner.name,
      tradeName: e.owner.tradeName ?? null,
    },
  };
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex');
}

/** Stored dates are normalized to ISO with milliseconds, as DICT answers them. */
function normalizeAccount(a: BrazilianAccount): BrazilianAccount {
  return { ...a, openingDate: new Date(a.openingDate).toISOString() };
}

function sameAccount(a: BrazilianAccount, b: BrazilianAccount): boolean {
  return a.participant === b.participant && (a.branch ?? '') === (b.branch ?? '') && a.accountNumber === b.accountNumber &&
    a.accountType === b.accountType && a.openingDate === b.openingDate;
}

function samePerson(a: Person, b: Person): boolean {
  return a.type === b.type && a.taxIdNumber === b.taxIdNumber && a.name === b.name && (a.tradeName ?? '') === (b.tradeName ?? '');
}

export class EntriesService {
  constructor(private readonly opts: EntriesOptions) {}

  private validate(entry: Entry, op: 'create' | 'update'): void {
    const vs = validateDictEntry(entry, op, { checkTaxIdDigits: this.opts.checkTaxIdDigits, now: this.opts.now().getTime() });
    if (vs.length === 0) return;
    // A CPF/CNPJ key that is not the owner's tax id has its own BCB error when it is the only fault.
    const mismatch = vs.filter((v) => v.reason === 'KEY_MISMATCH_TAX_ID');
    if (mismatch.length === vs.length) {
      throw new SimProblem('EntryTaxIdNumberByDifferentOwner', 'Key CPF/CNPJ differs from the owner tax id number', toViolations(vs, entryValues(entry)));
    }
    throw new SimProblem('EntryInvalid', 'Entry has invalid fields', toViolations(vs, entryValues(entry)));
  }

  async createEntry(caller: string, cmd: CreateEntryCommand): Promise<{ entry: ExtendedEntry; replayed: boolean }> {
    if (!isReasonAllowed('create', cmd.reason)) {
      throw new SimProblem('InvalidReason', `Reason ${cmd.reason} is not valid for createEntry`);
    }
    if (!isUuidV4(cmd.requestId)) {
      throw new SimProblem('BadRequest', 'RequestId must be a UUID version 4', [
        { reason: 'RequestId must be a UUID version 4', value: cmd.requestId, property: 'RequestId' },
      ]);
    }
    this.validate(cmd.entry, 'create');
    if (cmd.entry.account.participant !== caller) {
      throw new SimProblem('Forbidden', 'Participant is not allowed to create entries for accounts of another participant');
    }
    const requested = cmd.entry;
    const fingerprint = createFingerprint(requested);
    const locks = [`req:${caller}:${cmd.requestId}`, accountLockName(requested.account)];
    if (requested.keyType !== 'EVP' && requested.key) locks.push(`key:${requested.key}`);

    return this.opts.store.write(locks, async (repo) => {
      const prior = await repo.findCreateRequest(caller, cmd.requestId);
      if (prior) {
        if (prior.fingerprint === fingerprint) return { entry: prior.entry, replayed: true };
        throw new SimProblem('RequestIdAlreadyUsed', 'RequestId was already used with different entry parameters');
      }
      if (requested.keyType !== 'EVP' && requested.key) {
        const existing = await repo.findByKey(requested.key);
        if (existing) this.conflict(existing, requested);
        // Confirmed claim: the donor's entry is gone but the key stays locked until the claim is
        // completed or cancelled (Manual Operacional §5 and §6: no registration meanwhile).
        const claim = await repo.claims.findOpenByKey(requested.key);
        if (claim) throw new SimProblem('EntryLockedByClaim', `Key is locked by claim ${claim.claim.id} (${claim.claim.status})`);
      }
      const limit = maxKeysPerAccount(requested.owner.type);
      if ((await repo.countByAccount(requested.account)) >= limit) {
        throw new SimProblem('EntryLimitExceeded', `Account already has the maximum of ${limit} entries`);
      }
      const now = this.opts.now();
      const stamp = now.toISOString();
      const entry: ExtendedEntry = {
        // DICT generates EVP keys: a lowercase RFC 4122 version 4 UUID.
        key: requested.keyType === 'EVP' ? randomUUID() : requested.key!,
        keyType: requested.keyType,
        account: normalizeAccount(requested.account),
        owner: requested.owner,
        creationDate: stamp,
        keyOwnershipDate: stamp,
      };
      await repo.insertEntry(entry, cmd.requestId, now);
      await repo.insertCreateRequest(caller, cmd.requestId, fingerprint, entry, now);
      return { entry, replayed: false };
    });
  }

  /** The key is registered already: pick BCB's error by owner and participant. */
  private conflict(existing: ExtendedEntry, requested: Entry): never {
    if (existing.owner.taxIdNumber !== requested.owner.taxIdNumber) {
      throw new SimProblem('EntryKeyOwnedByDifferentPerson', 'Key is owned by a different person; an ownership claim may be opened');
    }
    if (existing.account.participant !== requested.account.participant) {
      throw new SimProblem('EntryKeyInCustodyOfDifferentParticipant', 'Key is in custody of a different participant; a portability claim may be opened');
    }
    throw new SimProblem('EntryAlreadyExists', 'Entry already exists for this key, participant and owner');
  }

  async getEntry(requester: string, cmd: LookupCommand): Promise<ExtendedEntry> {
    let vs = validateLookup(cmd);
    if (!this.opts.checkTaxIdDigits) vs = vs.filter((v) => !TAX_ID_DIGIT_REASONS.has(v.reason));
    if (vs.length > 0) {
      const names: Record<string, string> = { key: 'Key', payer_id: 'PI-PayerId', end_to_end_id: 'PI-EndToEndId' };
      const values: Record<string, string | undefined> = { key: cmd.key, payer_id: cmd.payerId, end_to_end_id: cmd.endToEndId };
      throw new SimProblem(
        'BadRequest',
        'Invalid key or request headers',
        vs.map((v) => ({ reason: v.description, property: names[v.field] ?? v.field, ...(values[v.field] !== undefined ? { value: values[v.field] } : {}) })),
      );
    }
    const entry = await this.opts.store.read.findByKey(cmd.key);
    if (!entry) throw new SimProblem('NotFound', 'Entry associated with given key does not exist');
    // Manual Operacional 8.2 step 10: payer and payee at the same PSP must not query DICT.
    if (entry.account.participant === requester) {
      throw new SimProblem('EntryCannotBeQueriedForBookTransfer', 'Entry is held by the requesting participant; use a book transfer');
    }
    return entry;
  }

  async updateEntry(caller: string, pathKey: string, cmd: UpdateEntryCommand): Promise<{ entry: ExtendedEntry; changed: boolean }> {
    if (cmd.key !== pathKey) throw new SimProblem('BadRequest', 'Key in body differs from key in path');
    const newAccountLock = cmd.account ? [accountLockName(cmd.account)] : [];
    return this.opts.store.write([`key:${pathKey}`, ...newAccountLock], async (repo) => {
      const current = await repo.findByKey(pathKey);
      if (!current) throw new SimProblem('NotFound', 'Entry associated with given key does not exist');
      if (current.account.participant !== caller) throw new SimProblem('Forbidden', 'Participant is not allowed to access this resource');
      if (!isReasonAllowed('update', cmd.reason, current.keyType)) {
        throw new SimProblem('InvalidReason', `Reason ${cmd.reason} is not valid for updateEntry of a ${current.keyType} key`);
      }
      const account = cmd.account ?? current.account;
      const owner = cmd.owner ?? current.owner;
      this.validate({ key: current.key, keyType: current.keyType, account, owner }, 'update');
      if (owner.type !== current.owner.type || owner.taxIdNumber !== current.owner.taxIdNumber) {
        // Only account data, name and trade name may change (updateEntry description).
        throw new SimProblem('EntryTaxIdNumberByDifferentOwner', 'Owner type and tax id number of an entry cannot change', [
          { reason: 'Owner tax id number cannot change', value: owner.taxIdNumber, property: 'Owner.TaxIdNumber' },
        ]);
      }
      if (account.participant !== caller) {
        throw new SimProblem('Forbidden', 'An entry cannot be moved to another participant by updateEntry');
      }
      const next = { account: normalizeAccount(account), owner };
      const changed = !sameAccount(next.account, current.account) || !samePerson(next.owner, current.owner);
      if (!changed) return { entry: current, changed: false };
      if (accountLockName(account) !== accountLockName(current.account)) {
        const limit = maxKeysPerAccount(owner.type);
        if ((await repo.countByAccount(account)) >= limit) {
          throw new SimProblem('EntryLimitExceeded', `Account already has the maximum of ${limit} entries`);
        }
      }
      const entry = await repo.updateEntry(pathKey, next.account, next.owner, this.opts.now());
      return { entry: entry!, changed: true };
    });
  }

  async deleteEntry(caller: string, pathKey: string, cmd: DeleteEntryCommand): Promise<{ key: string }> {
    if (cmd.key !== pathKey) throw new SimProblem('BadRequest', 'Key in body differs from key in path');
    if (!isReasonAllowed('delete', cmd.reason as EntryOperationReason)) {
      throw new SimProblem('InvalidReason', `Reason ${cmd.reason} is not valid for deleteEntry`);
    }
    return this.opts.store.write([`key:${pathKey}`], async (repo) => {
      const current = await repo.findByKey(pathKey);
      if (!current) throw new SimProblem('NotFound', 'Entry associated with given key does not exist');
      if (current.account.participant !== caller || cmd.participant !== current.account.participant) {
        throw new SimProblem('Forbidden', 'Participant is not allowed to access this resource');
      }
      // API v2 error table (EntryLockedByClaim) and Manual Operacional sections 5 and 6: while a
      // claim is neither completed nor cancelled the entry cannot be deleted. updateEntry stays
      // allowed (Manual footnotes 4 and 5: the donor may update account data meanwhile).
      if (current.openClaimCreationDate !== undefined) {
        throw new SimProblem('EntryLockedByClaim', `Entry has a claim open since ${current.openClaimCreationDate}; it cannot be deleted`);
      }
      await repo.deleteEntry(pathKey);
      return { key: pathKey };
    });
  }

  async checkKeys(keys: string[]): Promise<{ key: string; hasEntry: boolean }[]> {
    if (keys.length < 1 || keys.length > 200) throw new SimProblem('BadRequest', 'Keys must have between 1 and 200 items');
    const found = await this.opts.store.read.existingKeys(keys);
    return keys.map((key) => ({ key, hasEntry: found.has(key) }));
  }
}
