// Well-shaped but wrong values for the RPC fuzzer (test/support/fuzz.ts), chosen by field name:
// BCB identifiers that almost pass (CPF/CNPJ with a wrong check digit, repeated digits, formatted
// ones, ISPBs of 7 or 9 digits, end-to-end ids with impossible dates), keys of one type sent as
// another, overlong and unicode strings, timestamps at and beyond protobuf's range, forged page
// tokens, and ids of things that do not exist or belong to someone else (`Known`).
import fc from 'fast-check';
import { cnpjCheckDigits, cpfCheckDigits } from '../../domain/index.js';
import { KeyType, PersonType } from '../../gen/dict/core/v1/types_pb.js';

/** Ids and values that exist in the target (another user's key, a real claim id...). */
export interface Known {
  keys: string[];
  taxIds: string[];
  ids: string[];
  ispbs: string[];
}

export const NO_KNOWN: Known = { keys: [], taxIds: [], ids: [], ispbs: [] };

const digits = (min: number, max = min) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((a) => a.join(''));
const bump = (s: string, i: number) => s.slice(0, i) + String((Number(s[i]) + 1) % 10) + s.slice(i + 1);

export const cpf = digits(9).map((b) => b + cpfCheckDigits(b));
export const cnpj = digits(12).map((b) => b + cnpjCheckDigits(b));
const fmtCpf = (c: string) => `${c.slice(0, 3)}.${c.slice(3, 6)}.${c.slice(6, 9)}-${c.slice(9)}`;
const fmtCnpj = (c: string) => `${c.slice(0, 2)}.${c.slice(2, 5)}.${c.slice(5, 8)}/${c.slice(8, 12)}-${c.slice(12)}`;

/** CPFs that are wrong in one way each. */
const wrongCpf = fc.oneof(
  cpf.map((c) => bump(c, 10)),
  cpf.map((c) => bump(c, 9)),
  cpf.map(fmtCpf),
  fc.integer({ min: 0, max: 9 }).map((d) => String(d).repeat(11)),
  cpf.map((c) => c.slice(1)),
  cpf.map((c) => `${c}0`),
  cpf.map((c) => ` ${c}`),
  cpf.map((c) => c.replace(/\d/, '٣')),
);
const wrongCnpj = fc.oneof(
  cnpj.map((c) => bump(c, 13)),
  cnpj.map((c) => bump(c, 12)),
  cnpj.map(fmtCnpj),
  fc.integer({ min: 0, max: 9 }).map((d) => String(d).repeat(14)),
  cnpj.map((c) => c.slice(0, 13)),
);
const phone = fc.tuple(fc.integer({ min: 11, max: 99 }), digits(9)).map(([ddd, n]) => `+55${ddd}${n}`);
const wrongPhone = fc.oneof(
  phone.map((p) => p.slice(1)),
  phone.map((p) => `${p}1`),
  phone.map((p) => `+1${p.slice(3)}`),
  phone.map((p) => `${p.slice(0, 3)} (${p.slice(3, 5)}) ${p.slice(5, 10)}-${p.slice(10)}`),
  digits(16).map((d) => `+${d}`),
  fc.constant('+55'),
);
const email = fc.emailAddress();
const wrongEmail = fc.oneof(
  fc.constantFrom('josé@exemplo.com.br', 'a@b', '@b.com', 'a@@b.com', 'a b@c.com', 'A@B.COM', 'a@b.com\n', 'ñ@ñ.ñ'),
  fc.nat({ max: 300 }).map((n) => `${'a'.repeat(n)}@example.com`),
  fc.nat({ max: 300 }).map((n) => `a@${'b'.repeat(n)}.com`),
);
const evp = fc.uuid({ version: 4 });
const wrongEvp = fc.oneof(evp.map((u) => u.toUpperCase()), evp.map((u) => u.replace(/-/g, '')), fc.uuid({ version: 1 }), fc.constant('00000000-0000-0000-0000-000000000000'), evp.map((u) => `{${u}}`));

const KEY_TYPES = [KeyType.CPF, KeyType.CNPJ, KeyType.PHONE, KeyType.EMAIL, KeyType.EVP] as const;

/** A key and the type sent with it: usually its own type, sometimes another, unspecified or out of range. */
export function keyWithType(known: Known): fc.Arbitrary<{ key: string; keyType: number }> {
  const typed = fc.oneof(
    fc.oneof(cpf, wrongCpf).map((key) => ({ key, t: KeyType.CPF })),
    fc.oneof(cnpj, wrongCnpj).map((key) => ({ key, t: KeyType.CNPJ })),
    fc.oneof(phone, wrongPhone).map((key) => ({ key, t: KeyType.PHONE })),
    fc.oneof(email, wrongEmail).map((key) => ({ key, t: KeyType.EMAIL })),
    fc.oneof(evp, wrongEvp).map((key) => ({ key, t: KeyType.EVP })),
    ...(known.keys.length ? [fc.constantFrom(...known.keys).map((key) => ({ key, t: guessType(key) }))] : []),
  );
  return fc.tuple(typed, fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, fc.constantFrom(...KEY_TYPES, KeyType.UNSPECIFIED, 6, 99, -1))).map(([{ key, t }, other]) => ({ key, keyType: other === -1 ? t : other }));
}

function guessType(key: string): KeyType {
  if (key.startsWith('+')) return KeyType.PHONE;
  if (key.includes('@')) return KeyType.EMAIL;
  if (/^\d{11}$/.test(key)) return KeyType.CPF;
  if (/^\d{14}$/.test(key)) return KeyType.CNPJ;
  return KeyType.EVP;
}

/** A person's type and tax id: usually matching (CPF for natural, CNPJ for legal), sometimes not. */
export function personTypeAndTaxId(known: Known): fc.Arbitrary<{ type: number; taxIdNumber: string }> {
  const taxId = fc.oneof(
    cpf.map((taxIdNumber) => ({ taxIdNumber, t: PersonType.NATURAL_PERSON })),
    cnpj.map((taxIdNumber) => ({ taxIdNumber, t: PersonType.LEGAL_PERSON })),
    wrongCpf.map((taxIdNumber) => ({ taxIdNumber, t: PersonType.NATURAL_PERSON })),
    wrongCnpj.map((taxIdNumber) => ({ taxIdNumber, t: PersonType.LEGAL_PERSON })),
    ...(known.taxIds.length ? [fc.constantFrom(...known.taxIds).map((taxIdNumber) => ({ taxIdNumber, t: taxIdNumber.length === 11 ? PersonType.NATURAL_PERSON : PersonType.LEGAL_PERSON }))] : []),
  );
  return fc.tuple(taxId, fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, fc.constantFrom(PersonType.NATURAL_PERSON, PersonType.LEGAL_PERSON, PersonType.UNSPECIFIED, 3, 1000))).map(([{ taxIdNumber, t }, other]) => ({ taxIdNumber, type: other === -1 ? t : other }));
}

const hostileText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.nat({ max: 400 }).map((n) => 'Á'.repeat(n)),
  fc.constantFrom('', '   ', 'Maria\u0000Silva', '\u202Eavlis airam', 'José 😀 da Silva', 'a\nb', '<b>x</b>', 'Robert"); drop table entries;--'),
);
const ids = (known: Known) => fc.oneof(
  fc.uuid(),
  evp.map((u) => u.toUpperCase()),
  fc.constantFrom('not-a-uuid', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', ''),
  ...(known.ids.length ? [{ weight: 3, arbitrary: fc.constantFrom(...known.ids) }] : []),
);
const ispb = (known: Known) => fc.oneof(
  digits(8),
  digits(7),
  digits(9),
  fc.constantFrom('00000000', 'ABCDEFGH', '1234567a', ' 12345678', '١٢٣٤٥٦٧٨'),
  ...(known.ispbs.length ? [{ weight: 3, arbitrary: fc.constantFrom(...known.ispbs) }] : []),
);
const yyyymmddhhmm = fc.oneof(
  fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2199-12-31T23:59:00Z'), noInvalidDate: true }).map((d) => d.toISOString().replace(/[-T:]/g, '').slice(0, 12)),
  fc.constantFrom('202502300000', '202513010000', '202501012460', '000000000000', '999912312359'),
);
const endToEndId = (known: Known) => fc.oneof(
  fc.tuple(ispb(known), yyyymmddhhmm, fc.stringMatching(/^[A-Za-z0-9]{11}$/)).map(([i, d, s]) => `E${i}${d}${s}`),
  fc.tuple(digits(8), yyyymmddhhmm, fc.stringMatching(/^[A-Za-z0-9]{10,12}$/), fc.constantFrom('E', 'e', 'D', '')).map(([i, d, s, p]) => `${p}${i}${d}${s}`),
);
const pageToken = fc.oneof(
  fc.base64String({ maxLength: 40 }),
  fc.tuple(fc.oneof(fc.constant('infinity'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()), fc.oneof(fc.uuid(), fc.string()), fc.string({ maxLength: 8 }), fc.oneof(digits(1, 25), fc.string()))
    .chain(([deadline, id, f, s]) => fc.constantFrom({ c: { deadline, id }, f }, { s, f }, { c: null }, [], 'x'))
    .map((j) => Buffer.from(JSON.stringify(j)).toString('base64url')),
);

/** Field-specific hostile strings for `fieldName` (proto name), or undefined when the field is not one we know. */
export function stringFor(fieldName: string, known: Known): fc.Arbitrary<string> | undefined {
  switch (fieldName) {
    case 'key':
      return keyWithType(known).map((k) => k.key);
    case 'tax_id_number':
    case 'payer_id':
      return fc.oneof(cpf, cnpj, wrongCpf, wrongCnpj, ...(known.taxIds.length ? [fc.constantFrom(...known.taxIds)] : []));
    case 'participant':
    case 'donor_participant':
      return ispb(known);
    case 'branch':
      return fc.oneof(digits(4), digits(0, 6), fc.constantFrom('000a', ' 001', '١٢٣٤'));
    case 'account_number':
      return fc.oneof(digits(1, 20), digits(21, 40), fc.constantFrom('0', '-1', '12 34', '1e9', '0x1F'));
    case 'name':
    case 'trade_name':
      return hostileText;
    case 'request_id':
    case 'entry_id':
    case 'claim_id':
    case 'id':
      return ids(known);
    case 'end_to_end_id':
      return endToEndId(known);
    case 'page_token':
      return pageToken;
    default:
      return undefined;
  }
}

const NOW = BigInt(Math.floor(Date.now() / 1000));
/** google.protobuf.Timestamp at and beyond its range, before DICT existed, far future, bad nanos. */
export const timestampInit: fc.Arbitrary<{ seconds: bigint; nanos: number }> = fc.oneof(
  fc.constantFrom(-62135596800n, -62135596801n, 253402300799n, 253402300800n, 0n, -1n, NOW, NOW + 86400n * 365n * 100n, NOW - 86400n * 365n * 100n, 1586304000n).chain((seconds) => fc.constantFrom(0, 999_999_999, -1, 1_000_000_000).map((nanos) => ({ seconds, nanos }))),
  fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }).map((seconds) => ({ seconds, nanos: 0 })),
);
