// DICT simulator process: env parsed once (failing fast, naming every bad variable), graceful
// shutdown on SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { createLogger } from '../config/logger.js';
import { z } from 'zod';
import { BCB_CLAIM_PERIODS } from '../domain/claims.js';
import { BCB_RATE_LIMITS, type BucketConfig } from './ratelimit.js';
import { startSimulator } from './server.js';

const seconds = (defaultMs: number) =>
  z.coerce.number({ error: 'must be a number of seconds' }).int().min(1).max(365 * 86_400).default(defaultMs / 1000).transform((s) => s * 1000);

const bucket = (d: BucketConfig) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?\/\d+$/, 'must be refillPerMinute/bucketSize, e.g. 40/200')
    .transform((v): BucketConfig => {
      const [rate, size] = v.split('/');
      return { refillPerMinute: Number(rate), bucketSize: Number(size) };
    })
    .default(d);

const readable = () =>
  z.string({ error: 'is required' }).min(1, 'is required').refine((p) => {
    try {
      readFileSync(p);
      return true;
    } catch {
      return false;
    }
  }, 'file is not readable');

const ParticipantCerts = z
  .string({ error: 'is required (comma list ISPB=path.pem)' })
  .min(1, 'is required (comma list ISPB=path.pem)')
  .transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const item of s.split(',').map((x) => x.trim()).filter(Boolean)) {
      const m = /^([0-9]{8})=(.+)$/.exec(item);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not ISPB=path.pem` });
        continue;
      }
      try {
        out[m[1]!] = readFileSync(m[2]!, 'utf8');
      } catch {
        ctx.addIssue({ code: 'custom', message: `certificate file for ${m[1]} is not readable: ${m[2]}` });
      }
    }
    if (Object.keys(out).length === 0) ctx.addIssue({ code: 'custom', message: 'no participant certificates' });
    return out;
  });

const Env = z
  .object({
    SIM_HOST: z.string().min(1).default('127.0.0.1'),
    SIM_PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(8090),
    SIM_DATABASE_URL: z.string({ error: 'is required' }).regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    SIM_SIGNING_KEY_FILE: readable(),
    SIM_SIGNING_CERT_FILE: readable(),
    SIM_PARTICIPANT_CERTS: ParticipantCerts,
    SIM_TLS_KEY_FILE: readable().optional(),
    SIM_TLS_CERT_FILE: readable().optional(),
    SIM_TLS_CA_FILE: readable().optional(),
    SIM_CHECK_TAX_ID_DIGITS: z.enum(['true', 'false']).default('true'),
    // Claim periods in seconds (BCB: 7 days, 7 days, 30 days).
    SIM_CLAIM_RESOLUTION_PERIOD_SECONDS: seconds(BCB_CLAIM_PERIODS.resolutionMs),
    SIM_CLAIM_CLOSING_PERIOD_SECONDS: seconds(BCB_CLAIM_PERIODS.closingMs),
    SIM_CLAIM_CLAIMER_DEADLINE_SECONDS: seconds(BCB_CLAIM_PERIODS.claimerDeadlineMs),
    // listClaims buckets as "refillPerMinute/bucketSize" (BCB: 40/200 with role, 10/50 without).
    SIM_CLAIMS_LIST_WITH_ROLE_LIMIT: bucket(BCB_RATE_LIMITS.CLAIMS_LIST_WITH_ROLE),
    SIM_CLAIMS_LIST_WITHOUT_ROLE_LIMIT: bucket(BCB_RATE_LIMITS.CLAIMS_LIST_WITHOUT_ROLE),
    // listBucketStates and getBucketState (BCB: 6/20 and 60/200).
    SIM_POLICIES_LIST_LIMIT: bucket(BCB_RATE_LIMITS.POLICIES_LIST),
    SIM_POLICIES_READ_LIMIT: bucket(BCB_RATE_LIMITS.POLICIES_READ),
    // getEntry's anti-scanning buckets (BCB's rules); every participant's category (A–H).
    SIM_ANTISCAN_ENABLED: z.enum(['true', 'false']).default('true'),
    SIM_ANTISCAN_CATEGORY: z.enum(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']).default('A'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((e, ctx) => {
    const tls = [e.SIM_TLS_KEY_FILE, e.SIM_TLS_CERT_FILE, e.SIM_TLS_CA_FILE].filter((v) => v !== undefined).length;
    if (tls !== 0 && tls !== 3) {
      ctx.addIssue({ code: 'custom', path: ['SIM_TLS_KEY_FILE'], message: 'set all of SIM_TLS_KEY_FILE, SIM_TLS_CERT_FILE, SIM_TLS_CA_FILE or none' });
    }
  });

async function main(): Promise<void> {
  const parsed = Env.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    process.stderr.write(`dict-simulator: invalid environment\n${lines.join('\n')}\n`);
    process.exit(2);
  }
  const env = parsed.data;
  const log = createLogger('dict-simulator', env.LOG_LEVEL);
  const read = (p: string) => readFileSync(p, 'utf8');
  const sim = await startSimulator({
    host: env.SIM_HOST,
    port: env.SIM_PORT,
    databaseUrl: env.SIM_DATABASE_URL,
    signing: { keyPem: read(env.SIM_SIGNING_KEY_FILE), certPem: read(env.SIM_SIGNING_CERT_FILE) },
    participants: env.SIM_PARTICIPANT_CERTS,
    ...(env.SIM_TLS_KEY_FILE && env.SIM_TLS_CERT_FILE && env.SIM_TLS_CA_FILE
      ? { tls: { keyPem: read(env.SIM_TLS_KEY_FILE), certPem: read(env.SIM_TLS_CERT_FILE), caPem: read(env.SIM_TLS_CA_FILE), requestCert: true } }
      : {}),
    checkTaxIdDigits: env.SIM_CHECK_TAX_ID_DIGITS === 'true',
    claimPeriods: {
      resolutionMs: env.SIM_CLAIM_RESOLUTION_PERIOD_SECONDS,
      closingMs: env.SIM_CLAIM_CLOSING_PERIOD_SECONDS,
      claimerDeadlineMs: env.SIM_CLAIM_CLAIMER_DEADLINE_SECONDS,
    },
    rateLimits: {
      CLAIMS_LIST_WITH_ROLE: env.SIM_CLAIMS_LIST_WITH_ROLE_LIMIT,
      CLAIMS_LIST_WITHOUT_ROLE: env.SIM_CLAIMS_LIST_WITHOUT_ROLE_LIMIT,
      POLICIES_LIST: env.SIM_POLICIES_LIST_LIMIT,
      POLICIES_READ: env.SIM_POLICIES_READ_LIMIT,
    },
    antiscan: { enabled: env.SIM_ANTISCAN_ENABLED === 'true', defaultCategory: env.SIM_ANTISCAN_CATEGORY },
    logger: log,
  });
  log.info({ url: sim.url }, 'dict-simulator ready');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'dict-simulator shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    sim.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'dict-simulator: shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`dict-simulator: failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
