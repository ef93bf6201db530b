// The suite-level log scan: reads every log file our processes wrote during the test run (the
// in-process services' test-*.log and the child programs' output under $LOG_DIR) and reports any
// unmasked CPF, CNPJ, +55 phone or e-mail (domain/mask.ts findLeaks) and any JSON line with more
// than one `msg` key. Run by test/unit/log-scan.test.ts and, after the whole suite, by
// scripts/test.sh (`node dist/test/support/log-scan.js "$LOG_DIR"`), which fails the run on a finding.
// The third-party servers' logs (postgres, redis, temporal) are not ours and not scanned.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findLeaks } from '../../domain/mask.js';

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
    for (const leak of findLeaks(text)) findings.push({ file, line: i + 1, problem: `unmasked ${leak.kind} (${leak.masked})` });
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
