// LookupKey throughput and latency against a running Core DICT (scripts/run.sh), loopback only.
//   node dist/bench/lookup-capacity.js [--url http://127.0.0.1:8080[,http://127.0.0.1:8081]] [--kind local|dict|cache]
//                             [--keys 50] [--seconds 20] [--concurrency 16] [--save FILE | --load FILE]
// --save registers the keys, writes them to FILE and exits; --load looks up FILE's keys (so CPU
// sampled around the second run counts lookups only).
// kind local: our own keys (answered from our Postgres, never DICT); dict: another participant's
// natural-person keys (never cached: every lookup is a signed DICT getEntry); cache: another
// participant's legal-person keys (DICT once, then Redis). The other participant's keys are
// registered straight in DICT through its own bridge, with the dev PKI in PKI_DIR.
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { devBearer } from '../scripts/token.js';
import { createDictClient } from '../bridge/client.js';
import { newEndToEndId } from '../domain/ids.js';
import { cnpjCheckDigits, cpfCheckDigits } from '../domain/taxid.js';
import { CoreDictService, CreateKeyRequestSchema } from '../gen/dict/core/v1/service_pb.js';
import { AccountType, EntryOperationReason, EntryStatus, KeyType, PersonType } from '../gen/dict/core/v1/types_pb.js';
import { ensureDevPki } from '../scripts/pki.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.API_URL ?? 'http://127.0.0.1:8080' },
    kind: { type: 'string', default: 'local' },
    keys: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    ispb: { type: 'string', default: process.env.PSP_ISPB ?? '12345678' },
    other: { type: 'string', default: '87654321' },
    dict: { type: 'string', default: process.env.DICT_BASE_URL ?? 'http://127.0.0.1:8090/api/v2' },
    pki: { type: 'string', default: process.env.PKI_DIR ?? '.data/dev/pki' },
    save: { type: 'string' },
    load: { type: 'string' },
  },
});
const KEYS = Math.min(Number(values.keys), 1000);
const SECONDS = Math.min(Number(values.seconds), 600);
const C = Math.min(Number(values.concurrency), 256);
const auth = devBearer(); // one token for every API instance
const clients = values.url!.split(',').map((u) => createClient(CoreDictService, createConnectTransport({ baseUrl: u, httpVersion: '1.1', interceptors: [auth] })));

const digits = (n: number) => Array.from({ length: n }, () => String(randomInt(10))).join('');
const cpf = () => { const b = digits(9); return b + cpfCheckDigits(b); };
const cnpj = () => { const b = digits(8) + '0001'; return b + cnpjCheckDigits(b); };
const email = () => `bench.${randomUUID().slice(0, 12)}@example.com.br`;
const e2e = () => newEndToEndId(values.ispb!, new Date(), randomInt);
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;

async function ownKeys(): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const key = email();
    const res = await clients[0]!.createKey(
      create(CreateKeyRequestSchema, {
        requestId: randomUUID(), keyType: KeyType.EMAIL, key,
        account: { participant: values.ispb!, branch: '0001', accountNumber: digits(8), accountType: AccountType.CACC, openingDate: timestampFromDate(new Date('2020-01-01T03:00:00Z')) },
        owner: { type: PersonType.NATURAL_PERSON, taxIdNumber: cpf(), name: 'Bench da Silva' },
        reason: EntryOperationReason.USER_REQUESTED, waitTimeout: { seconds: 15n },
      }),
    );
    if (res.entry?.status !== EntryStatus.ACTIVE) throw new Error(`own key not ACTIVE: ${res.entry?.errorName}`);
    keys.push(key);
  }
  return keys;
}

async function otherKeys(legal: boolean): Promise<string[]> {
  const pki = ensureDevPki(values.pki!, [values.ispb!, values.other!]);
  const p = pki.participants[values.other!]!;
  const dict = createDictClient({ baseUrl: values.dict!, participant: values.other!, signing: { keyPem: p.keyPem, certPem: p.certPem }, trustedDictCertsPem: [pki.dict.certPem], timeoutMs: 5_000 });
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const key = email();
    await dict.createEntry({
      requestId: randomUUID(), reason: 'USER_REQUESTED',
      entry: {
        key, keyType: 'EMAIL',
        account: { participant: values.other!, branch: '0001', accountNumber: digits(8), accountType: 'CACC', openingDate: '2020-01-10T03:00:00.000Z' },
        owner: legal ? { type: 'LEGAL_PERSON', taxIdNumber: cnpj(), name: 'Outra Empresa Ltda' } : { type: 'NATURAL_PERSON', taxIdNumber: cpf(), name: 'Outra Pessoa' },
      },
    });
    keys.push(key);
  }
  dict.close();
  return keys;
}

async function main(): Promise<void> {
  const kind = values.kind!;
  const keys = values.load ? (JSON.parse(readFileSync(values.load, 'utf8')) as string[]) : kind === 'local' ? await ownKeys() : await otherKeys(kind === 'cache');
  if (values.save) {
    writeFileSync(values.save, JSON.stringify(keys));
    return;
  }
  const payer = cpf();
  const lat: number[] = [];
  const sources = new Map<string, number>();
  let failures = 0;
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: C }, async (_, lane) => {
      while (performance.now() < end) {
        const i = n++;
        const t0 = performance.now();
        try {
          const res = await clients[i % clients.length]!.lookupKey({ key: keys[(i + lane) % keys.length]!, payerId: payer, endToEndId: e2e() });
          lat.push(performance.now() - t0);
          sources.set(res.source, (sources.get(res.source) ?? 0) + 1);
        } catch (err) {
          failures++;
          if (failures <= 3) console.error(`lookup: ${(err as Error).message}`);
        }
      }
    }),
  );
  const s = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `lookup kind=${kind} apis=${clients.length} c=${C} ok=${lat.length} failed=${failures} sources=${JSON.stringify(Object.fromEntries(sources))} ` +
      `p50=${f(pct(lat, 50))}ms p95=${f(pct(lat, 95))}ms p99=${f(pct(lat, 99))}ms throughput=${(lat.length / s).toFixed(1)}/s`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
