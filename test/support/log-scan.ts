// The suite-level log scan: reads every log file our processes wrote during the test run (the
// in-process services' test-*.log and the child programs' output under $LOG_DIR) and reports any
// unmasked CPF, CNPJ, +55 phone or e-mail and any JSON line with more than one `msg` key.
// Its recognisers are its own, written apart from the masker's (domain/mask.ts) and sharing no
// code with it, check digits included: a masker bug must not hide itself from the scan. Run by test/unit/log-scan.test.ts and, after the whole suite, by
// scripts/test.sh (`node dist/test/support/log-scan.js "$LOG_DIR"`), which fails the run on a finding.
// The third-party servers' logs (postgres, redis, temporal) are not ours and not scanned.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Personal data in `text` that masking should have removed; each match shown partly hidden. */
export interface Leak {
  kind: 'CPF' | 'CNPJ' | 'PHONE' | 'EMAIL';
  shown: string;
}

// Modulo-11 check digits as the Receita Federal defines them: weights counting down to 2 (CPF)
// or 2..9 repeating from the right (CNPJ); a remainder below 2 gives 0.
function mod11(body: string, weights: number[]): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += Number(body[i]) * weights[i]!;
  const r = sum % 11;
  return r < 2 ? 0 : 11 - r;
}
const CPF_W1 = [10, 9, 8, 7, 6, 5, 4, 3, 2];
const CPF_W2 = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2];
const CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
const CNPJ_W2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

export function cpfChecks(d: string): boolean {
  if (!/^\d{11}$/.test(d) || /^(\d)\1{10}$/.test(d)) return false;
  return mod11(d.slice(0, 9), CPF_W1) === Number(d[9]) && mod11(d.slice(0, 10), CPF_W2) === Number(d[10]);
}

export function cnpjChecks(d: string): boolean {
  if (!/^\d{14}$/.test(d) || /^(\d)\1{13}$/.test(d)) return false;
  return mod11(d.slice(0, 12), CNPJ_W1) === Number(d[12]) && mod11(d.slice(0, 13), CNPJ_W2) === Number(d[13]);
}

const hide = (s: string) => (s.length <= 4 ? '****' : `${s.slice(0, 2)}…${s.slice(-2)}`);

/**
 * Every unmasked CPF/CNPJ, +55 phone and e-mail address in `text`:
 *  - a run of exactly 11 (CPF) or 14 (CNPJ) digits, not part of a longer run or a decimal, whose
 *    check digits are right;
 *  - the printed forms 000.000.000-00 and 00.000.000/0000-00 (check digits right);
 *  - +55 then 10 or 11 digits, with or without spaces, parentheses or dashes between them;
 *  - name@domain.tld, the local part starting with a letter or digit (a masked `m***@x.com` has none).
 */
export function leaksIn(text: string): Leak[] {
  const out: Leak[] = [];
  for (const m of text.matchAll(/(?<![\d.,])\d+(?![\d])/g)) {
    const run = m[0];
    if (run.length === 11 && cpfChecks(run)) out.push({ kind: 'CPF', shown: hide(run) });
    else if (run.length === 14 && cnpjChecks(run)) out.push({ kind: 'CNPJ', shown: hide(run) });
  }
  for (const m of text.matchAll(/(?<!\d)\d{3}\.\d{3}\.\d{3}-\d{2}(?!\d)/g)) {
    const d = m[0].replace(/\D/g, '');
    if (cpfChecks(d)) out.push({ kind: 'CPF', shown: hide(d) });
  }
  for (const m of text.matchAll(/(?<!\d)\d{2}\.\d{3}\.\d{3}\/\d{4}-\d{2}(?!\d)/g)) {
    const d = m[0].replace(/\D/g, '');
    if (cnpjChecks(d)) out.push({ kind: 'CNPJ', shown: hide(d) });
  }
  for (const m of text.matchAll(/\+55[\s()-]*(?:\d[\s()-]*){10,11}(?![\d])/g)) {
    const d = m[0].replace(/\D/g, '');
    if (d.length === 12 || d.length === 13) out.push({ kind: 'PHONE', shown: hide(d) });
  }
  for (const m of text.matchAll(/(?<![\w.%+*-])[A-Za-z0-9][\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])/g)) {
    out.push({ kind: 'EMAIL', shown: hide(m[0]) });
  }
  return out;
}

const THIRD_PARTY = /^(postgres|redis|nats|temporal|temporal-server|temporal-ui)\b/;

export interface Finding {
  file: string;
  line: number;
  problem: string;
}

/** Our log files in `dir` (not the third-party servers'). */
export function logFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.log') && !THIRD_PARTY.test(n)).map((n) => join(dir, n));
}

export function scanLogFile(file: string): { lines: number; findings: Finding[] } {
  const findings: Finding[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((text, i) => {
    if (!text) return;
    for (const leak of leaksIn(text)) findings.push({ file, line: i + 1, problem: `unmasked ${leak.kind} (${leak.shown})` });
    if (text.startsWith('{') && (text.match(/"msg":/g) ?? []).length > 1) findings.push({ file, line: i + 1, problem: 'more than one "msg" key' });
  });
  return { lines: lines.length, findings };
}

export function scanLogDir(dir: string): { files: number; lines: number; findings: Finding[] } {
  const files = logFiles(dir);
  let lines = 0;
  const findings: Finding[] = [];
  for (const f of files) {
    const r = scanLogFile(f);
    lines += r.lines;
    findings.push(...r.findings);
  }
  return { files: files.length, lines, findings };
}

if (require.main === module) {
  const dir = process.argv[2] ?? process.env.LOG_DIR;
  if (!dir) {
    console.error('usage: node dist/test/support/log-scan.js LOG_DIR');
    process.exit(2);
  }
  const r = scanLogDir(dir);
  for (const f of r.findings.slice(0, 50)) console.error(`${f.file}:${f.line}: ${f.problem}`);
  console.log(`[core-dict] log scan: ${r.files} files, ${r.lines} lines, ${r.findings.length} findings`);
  process.exit(r.findings.length ? 1 : 0);
}
