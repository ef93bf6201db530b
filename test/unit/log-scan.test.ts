// Masking of personal data and signature values (domain/mask.ts), the logger that applies it
// (config/logger.ts), and the scan of every log line the suite wrote so far (test/support/log-scan.ts;
// scripts/test.sh repeats it after the last test file).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../config/logger.js';
import { cnpjCheckDigits, cpfCheckDigits } from '../../domain/index.js';
import { findLeaks, maskDeep, maskText } from '../../domain/mask.js';
import { cnpjChecks, cpfChecks, leaksIn, scanLogDir, scanLogFile } from '../support/log-scan.js';

const cpf = (base9: string) => base9 + cpfCheckDigits(base9);
const cnpj = (base12: string) => base12 + cnpjCheckDigits(base12);
const CPF = cpf('123456789');
const CNPJ = cnpj('112223330001');

test('maskText: CPF (bare and formatted) keeps the middle digits only', () => {
  assert.equal(maskText(`key ${CPF}`), `key ***.456.789-**`);
  assert.equal(maskText(`cpf=${CPF.slice(0, 3)}.${CPF.slice(3, 6)}.${CPF.slice(6, 9)}-${CPF.slice(9)}.`), 'cpf=***.456.789-**.');
  assert.deepEqual(findLeaks(maskText(CPF)), []);
});

test('maskText: numbers that are not valid documents are left alone', () => {
  const badCpf = CPF.slice(0, 10) + String((Number(CPF[10]) + 1) % 10);
  assert.equal(maskText(`n ${badCpf}`), `n ${badCpf}`);
  assert.equal(maskText('ispb 12345678 at 1733300000000'), 'ispb 12345678 at 1733300000000');
  // 11 digits inside a longer number are not a CPF.
  assert.equal(maskText(`9${CPF}9`), `9${CPF}9`);
});

test('maskText: CNPJ, +55 phone, e-mail', () => {
  assert.equal(maskText(`cnpj ${CNPJ}`), 'cnpj **.***.333/0001-**');
  assert.equal(maskText('cnpj 11.222.333/0001-81'), 'cnpj **.***.333/0001-**');
  assert.equal(maskText('phone +5561988880000 ok'), 'phone +55*******0000 ok');
  assert.equal(maskText('mail maria.silva+pix@example.com.br'), 'mail m***@example.com.br');
  assert.equal(maskText('WorkerID=temporal-system@127.0.0.1:7233'), 'WorkerID=temporal-system@127.0.0.1:7233');
  for (const s of ['+5561988880000', 'maria.silva+pix@example.com.br', CNPJ, CPF]) assert.deepEqual(findLeaks(maskText(`x ${s} y`)), [], s);
});

test('maskText: XMLDSig values and long base64 runs are omitted', () => {
  const sig = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0';
  assert.equal(maskText(`<ds:SignatureValue>${sig}</ds:SignatureValue>`), '<ds:SignatureValue>[omitted]</ds:SignatureValue>');
  assert.equal(maskText(`<DigestValue>abc=</DigestValue>`), '<DigestValue>[omitted]</DigestValue>');
  assert.equal(maskText(`calculated digest ${sig} but supplied`), 'calculated digest [base64 omitted] but supplied');
  // Paths in stack traces are not base64.
  const stack = 'at Object.<anonymous> (/work/core-dict/dist/bridge/xmldsig.js:12:3)';
  assert.equal(maskText(stack), stack);
});

test('maskDeep: personal fields dropped, strings masked, errors serialized and masked', () => {
  const out = maskDeep({ owner: { name: 'Maria Silva', taxIdNumber: CPF }, key: 'x@y.com', detail: `key ${CPF}`, err: new Error(`entry ${CPF} not found`), n: 3 }) as Record<string, any>;
  assert.equal(out.owner.name, '[masked]');
  assert.equal(out.owner.taxIdNumber, '[masked]');
  assert.equal(out.key, '[masked]');
  assert.equal(out.detail, 'key ***.456.789-**');
  assert.match(out.err.message, /entry \*\*\*\.456\.789-\*\* not found/);
  assert.doesNotMatch(out.err.stack, new RegExp(CPF));
  assert.equal(out.n, 3);
});

test('createLogger: one msg per line, everything masked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'core-dict-log-'));
  const file = join(dir, 'x.log');
  const log = createLogger('t', 'info', { file });
  log.error({ rpc: 'r', error: `no entry for +5561988880000`, err: new Error(`lookup ${CPF} failed`), owner: { name: 'Maria Silva' } }, `rpc failed for maria@example.com`);
  log.info(`key ${CNPJ}`);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.name, 't', 'the service name is not personal');
  assert.equal(first.msg, 'rpc failed for m***@example.com');
  assert.equal(first.error, 'no entry for +55*******0000');
  assert.match(first.err.message, /lookup \*\*\*\.456\.789-\*\* failed/);
  assert.equal(first.owner.name, '[masked]');
  assert.doesNotMatch(lines.join('\n'), /Maria/);
  assert.deepEqual(scanLogFile(file).findings, []);
});

test('scanLogFile finds what masking would have removed, and two msg keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'core-dict-log-'));
  const file = join(dir, 'bad.log');
  writeFileSync(file, `{"msg":"a","x":{"msg":"b"}}\nkey ${CPF}\nok line\n+5561988880000 a@b.co ${CNPJ}\n`);
  const kinds = scanLogFile(file).findings.map((f) => f.problem.split(' ')[0] === 'unmasked' ? f.problem.split(' ')[1] : 'msg');
  assert.deepEqual(kinds.sort(), ['CNPJ', 'CPF', 'EMAIL', 'PHONE', 'msg']);
});

test('the scan\'s recognisers are its own: no import of the masker, check digits agree with domain/', () => {
  const src = readFileSync(join(__dirname, '../../../test/support/log-scan.ts'), 'utf8');
  assert.doesNotMatch(src, /from '[^']*domain\//, 'log-scan.ts imports nothing from domain/');
  for (let i = 0; i < 300; i++) {
    const b9 = String(100_000_000 + i * 2_999_999).slice(0, 9);
    const b12 = String(100_000_000_000 + i * 2_999_999_997).slice(0, 12);
    assert.equal(cpfChecks(cpf(b9)), true, cpf(b9));
    assert.equal(cnpjChecks(cnpj(b12)), true, cnpj(b12));
    const wrong = cpf(b9).slice(0, 10) + String((Number(cpf(b9)[10]) + 1) % 10);
    assert.equal(cpfChecks(wrong), false, wrong);
  }
});

test('the scan flags a planted unmasked line of each kind, and passes masked ones', () => {
  const fmtCpf = `${CPF.slice(0, 3)}.${CPF.slice(3, 6)}.${CPF.slice(6, 9)}-${CPF.slice(9)}`;
  const fmtCnpj = `${CNPJ.slice(0, 2)}.${CNPJ.slice(2, 5)}.${CNPJ.slice(5, 8)}/${CNPJ.slice(8, 12)}-${CNPJ.slice(12)}`;
  const planted: [string, string][] = [
    ['CPF', `{"level":20,"msg":"rpc failed","reason":"no entry for key ${CPF}"}`],
    ['CPF', `{"msg":"owner ${fmtCpf} refused"}`],
    ['CNPJ', `{"msg":"x","taxId":"${CNPJ}"}`],
    ['CNPJ', `{"msg":"owner ${fmtCnpj}"}`],
    ['PHONE', '{"msg":"key +5561988880000"}'],
    ['PHONE', '{"msg":"key +55 (61) 98888-0000"}'],
    ['EMAIL', '{"msg":"key maria.silva+pix@example.com.br"}'],
  ];
  const dir = mkdtempSync(join(tmpdir(), 'core-dict-log-'));
  const file = join(dir, 'api.log');
  writeFileSync(file, planted.map(([, l]) => l).join('\n') + '\n');
  const found = scanLogFile(file).findings;
  assert.deepEqual(found.map((f) => f.line), planted.map((_, i) => i + 1), JSON.stringify(found));
  planted.forEach(([kind], i) => assert.match(found[i]!.problem, new RegExp(`^unmasked ${kind} `)));
  assert.doesNotMatch(JSON.stringify(found), new RegExp(`${CPF}|${CNPJ}|988880000|maria`), 'a report of leaks is not itself a leak');
  // What the masker writes, and numbers that are not documents, pass.
  for (const [, l] of planted) assert.deepEqual(leaksIn(maskText(l)), [], maskText(l));
  const clean = ['ispb 12345678 at 1733300000000', `ratio 0.${CPF}`, `9${CPF}9`, CPF.slice(0, 10) + String((Number(CPF[10]) + 1) % 10), 'WorkerID=temporal-system@127.0.0.1:7233', '+55*******0000 m***@example.com.br', '11111111111'];
  for (const l of clean) assert.deepEqual(leaksIn(l), [], l);
});

test('every log line the suite wrote so far is masked', { skip: !process.env.LOG_DIR && 'no LOG_DIR (run by scripts/test.sh)' }, () => {
  const r = scanLogDir(process.env.LOG_DIR!);
  assert.deepEqual(r.findings.slice(0, 20), [], `${r.findings.length} findings in ${r.files} files`);
});
