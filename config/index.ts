// Configuration is read from the environment once per process, validated with zod, and the
// process refuses to start naming every bad variable (fail fast, never half-configured).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ClaimPeriods } from '../domain/claims.js';

const ispb = z.string().regex(/^[0-9]{8}$/, 'must be an 8-digit ISPB');
const port = z.coerce.number().int().min(0).max(65535);
const optionalFile = z.string().min(1).optional();
const seconds = (max: number) => z.coerce.number().int().min(1).max(max);

const common = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PSP_ISPB: ispb.default('12345678'),
  DATABASE_URL: z.string().url().default('postgres://coredict@127.0.0.1:5432/core_dict'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379/0'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('core-dict'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('core-dict'),
  DICT_BASE_URL: z.string().url().default('http://127.0.0.1:8090/api/v2'),
  DICT_SIGNING_KEY_FILE: z.string().min(1).default('.data/dev/pki/psp-12345678.key'),
  DICT_SIGNING_CERT_FILE: z.string().min(1).default('.data/dev/pki/psp-12345678.crt'),
  DICT_TRUSTED_CERT_FILE: z.string().min(1).default('.data/dev/pki/dict.crt'),
  DICT_TLS_CA_FILE: optionalFile,
  DICT_TLS_CERT_FILE: optionalFile,
  DICT_TLS_KEY_FILE: optionalFile,
  DICT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  DICT_MAX_SOCKETS: z.coerce.number().int().min(1).max(1024).default(64),
  // BCB's claim periods (Manual §5, §6). DICT sends its deadlines; these only tell when a claim
  // opened (resolution) and the ownership claimer's last day. Shrink them only together with a
  // simulator whose periods are shrunk the same way.
  CLAIM_RESOLUTION_PERIOD_SECONDS: seconds(30 * 86_400).default(7 * 86_400),
  CLAIM_CLOSING_PERIOD_SECONDS: seconds(30 * 86_400).default(7 * 86_400),
  CLAIM_CLAIMER_DEADLINE_SECONDS: seconds(90 * 86_400).default(30 * 86_400),
  // Workflow data encrypted at rest in Temporal (config/payload-codec.ts): a JSON file of key id →
  // base64 AES-256 key (dev/test: the PKI step's payload-keys.json), and the id of the key new
  // payloads are encrypted with (unset: the file's only key). Every key in the file decodes.
  PAYLOAD_KEYS_FILE: z.string().min(1).default('.data/dev/pki/payload-keys.json'),
  PAYLOAD_KEY_ID: z.string().min(1).optional(),
  // Observability (docs/operations.md): Postgres-backed gauges are re-read at most this often;
  // traces go to this OTLP/HTTP endpoint (unset: no traces exported).
  METRICS_DB_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(15_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
};

const apiSchema = z.object({
  ...common,
  API_HOST: z.string().min(1).default('127.0.0.1'),
  // HTTP/1.1: Connect, gRPC-web, /healthz, /readyz.
  API_PORT: port.default(8080),
  // HTTP/2 cleartext: gRPC (and Connect, gRPC-web over h2).
  API_GRPC_PORT: port.default(50051),
  // Prometheus /metrics on a listener of its own (never on the public API_PORT/API_GRPC_PORT);
  // with API_WORKERS > 1 the node:cluster primary serves it with every worker's series. 0: none.
  API_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  API_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9465),
  // Longest a write RPC may block waiting for its workflow's final state.
  API_MAX_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(15_000),
  // LookupKey's synchronous DICT call (the only one the API makes): the whole budget (attempts
  // and waits), one attempt's timeout, attempts in all (retries use jittered backoff and never
  // come sooner than DICT's Retry-After), and a circuit breaker that stops calling DICT for
  // LOOKUP_BREAKER_HALF_OPEN_MS once more than LOOKUP_BREAKER_THRESHOLD of the calls in the last
  // LOOKUP_BREAKER_WINDOW_MS failed (timeouts, resets, 5xx; at LOOKUP_BREAKER_MIN_RPS calls/s or more).
  LOOKUP_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(3_000),
  LOOKUP_ATTEMPT_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(1_500),
  LOOKUP_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  LOOKUP_BREAKER_THRESHOLD: z.coerce.number().gt(0).lt(1).default(0.5),
  LOOKUP_BREAKER_WINDOW_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
  LOOKUP_BREAKER_MIN_RPS: z.coerce.number().min(0.1).max(100_000).default(2),
  LOOKUP_BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  // BCB allows caching only legal persons' entries, for at most 180 s.
  LOOKUP_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(180).default(180),
  // Keys each API process remembers having found to be ours (LookupKey skips the Redis read for them); 0 = off.
  LOOKUP_OWN_KEY_HINT_MAX: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  // LookupKey of our own keys from an in-memory copy for at most this long (ms), dropped at once when
  // Postgres announces a change to the key (LISTEN, one more connection per process); 0 = off.
  LOOKUP_OWN_ENTRY_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  // Own entries held in that copy per API process (least recently used dropped first).
  LOOKUP_OWN_ENTRY_MAX: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  // API processes on the same ports (node:cluster); 0 = one per core. 1 = no cluster.
  API_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
  // Health answers (/readyz, grpc.health.v1, HealthCheck) younger than this are shared: dependencies
  // (a TLS handshake to DICT among them) are probed at most once per interval per process.
  HEALTH_MAX_AGE_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  // Admission control: concurrent RPCs per process beyond which calls are shed (RESOURCE_EXHAUSTED).
  API_MAX_IN_FLIGHT_RPCS: z.coerce.number().int().min(1).max(100_000).default(1_000),
  // LookupKey's Postgres reads in flight per process (0 = DATABASE_POOL_MAX; never above it) and
  // waiting for a slot; beyond both, RESOURCE_EXHAUSTED.
  LOOKUP_DB_MAX_IN_FLIGHT: z.coerce.number().int().min(0).max(200).default(0),
  LOOKUP_DB_MAX_QUEUE: z.coerce.number().int().min(0).max(100_000).default(256),
  // Redis on the lookup path fails fast: no offline queue, a command timeout, then a circuit
  // breaker that skips Redis for REDIS_BREAKER_HALF_OPEN_MS once more than REDIS_BREAKER_THRESHOLD
  // of the calls in the last REDIS_BREAKER_WINDOW_MS failed (at REDIS_BREAKER_MIN_RPS calls/s or more).
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(5).max(10_000).default(100),
  REDIS_BREAKER_THRESHOLD: z.coerce.number().gt(0).lt(1).default(0.5),
  REDIS_BREAKER_WINDOW_MS: z.coerce.number().int().min(500).max(600_000).default(5_000),
  REDIS_BREAKER_MIN_RPS: z.coerce.number().min(0.1).max(100_000).default(2),
  REDIS_BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
  // BCB's anti-scanning buckets on LookupKey (DICT API "Limitação de requisições", Manual §13):
  // the category BCB puts us in (DICT's GET /policies/ overrides it at startup and every
  // ANTISCAN_RECONCILE_INTERVAL_MS, 0 = startup only; one API process of the deployment asks per
  // interval, at most once per 0.9 of it, and BCB allows listBucketStates 6 times a minute, so at
  // least 15 s: one per 13.5 s, at most 5 in any minute, room left for an operator's), and the share
  // of BCB's rates and sizes the in-process fallback limiter allows while Redis is unavailable.
  ANTISCAN_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  ANTISCAN_PARTICIPANT_CATEGORY: z.enum(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']).default('H'),
  ANTISCAN_FALLBACK_FRACTION: z.coerce.number().gt(0).max(1).default(0.1),
  ANTISCAN_RECONCILE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .max(86_400_000)
    .refine((v) => v === 0 || v >= 15_000, 'at least 15000 (BCB allows listBucketStates 6 times a minute), or 0 for startup only')
    .default(60_000),
  // Largest request message accepted (bytes); larger bodies are refused (RESOURCE_EXHAUSTED)
  // before they are read. Every request of ours is well under 2 KiB.
  API_READ_MAX_BYTES: z.coerce.number().int().min(1_024).max(4_194_304).default(16_384),
  // Per-client rate limit (client = participant + end user, or participant + peer address):
  // API_RATE_LIMIT_POINTS calls per API_RATE_LIMIT_DURATION_SECONDS, counted in Redis (shared by
  // every API process), in each process's memory while Redis is down. 0 points = no limit.
  API_RATE_LIMIT_POINTS: z.coerce.number().int().min(0).max(1_000_000).default(5_000),
  API_RATE_LIMIT_DURATION_SECONDS: z.coerce.number().int().min(1).max(3_600).default(1),
  // Points each API process first takes from a client's shared budget at a time (api/rate-limit-lease.ts;
  // grows up to 10x for a busy client): one Redis round trip per lease instead of per call; 0 = 1 % of API_RATE_LIMIT_POINTS; 1 = exact.
  API_RATE_LIMIT_LEASE: z.coerce.number().int().min(0).max(100_000).default(0),
  // Before auth, per peer address and in each process's memory: a peer whose calls failed
  // authentication API_AUTH_FAILURE_LIMIT_POINTS times per
  // API_AUTH_FAILURE_LIMIT_DURATION_SECONDS is refused without verifying its tokens (tokens this
  // process verified before still pass). 0 points = no limit.
  API_AUTH_FAILURE_LIMIT_POINTS: z.coerce.number().int().min(0).max(1_000_000).default(50),
  API_AUTH_FAILURE_LIMIT_DURATION_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  // Proxies of ours in front of the API that append the address they saw to X-Forwarded-For: the
  // caller's address (rate limits) is the entry the outermost one appended. 0 = the socket's peer
  // (X-Forwarded-For ignored: any client can write it).
  API_TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  // TLS on both listeners (ALPN h2 + http/1.1) when both are set; plain otherwise.
  API_TLS_CERT_FILE: optionalFile,
  API_TLS_KEY_FILE: optionalFile,
  // Origins whose pages may call the API from a browser (Connect, gRPC-web) on API_PORT:
  // comma-separated exact origins ("https://app.example.com"), or "*"; unset = no CORS.
  API_CORS_ORIGINS: z.string().optional(),
  // gRPC server reflection (grpcurl list/describe without .proto files).
  API_REFLECTION: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  // true: AbortController.abort() without a reason captures a stack, as Node does (config/abort-errors.ts:
  // about 7 µs each, and Connect and connect-node abort three times per call); false: it does not.
  API_ABORT_ERROR_STACKS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  // On SIGTERM: not ready at once, no new connections, in-flight calls get this long to finish.
  API_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
  // Before that, /readyz answers 503 while the API still serves for this long, so load balancers
  // (Kubernetes endpoints) stop sending first; 0 = stop accepting at once.
  API_SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  // Per-call logs are debug; every RPC_STATS_INTERVAL_MS one info line sums calls per RPC and
  // outcome with latency percentiles (0 = never).
  RPC_STATS_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  // Authentication (api/auth.ts): Bearer JWTs from this identity provider. Keys from exactly one
  // of AUTH_JWKS_FILE (a JWKS document; dev: the PKI step's auth-jwks.json) and AUTH_JWKS_URL.
  AUTH_ISSUER: z.string().min(1).default('core-dict-dev-idp'),
  AUTH_AUDIENCE: z.string().min(1).default('core-dict'),
  AUTH_JWKS_FILE: optionalFile,
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_JWKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(2_000),
  AUTH_JWKS_CACHE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  // Comma-separated JWS algorithms; never `none`; HS* only with AUTH_ALLOW_HS=true.
  AUTH_ALGORITHMS: z.string().min(1).default('ES256,RS256,EdDSA'),
  AUTH_ALLOW_HS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  AUTH_MAX_TOKEN_AGE_SECONDS: z.coerce.number().int().min(0).max(30 * 86_400).default(86_400),
  AUTH_ISPB_CLAIM: z.string().min(1).default('ispb'),
  AUTH_TAX_ID_CLAIM: z.string().min(1).default('tax_id'),
  AUTH_ROLE_CLAIM: z.string().min(1).default('role'),
  // A second factor (customers' claim decisions): any of these amr values, or acr equal to one of AUTH_SECOND_FACTOR_ACR.
  AUTH_SECOND_FACTOR_AMR: z.string().default('otp,mfa,hwk,sms,fido,swk'),
  AUTH_SECOND_FACTOR_ACR: z.string().default(''),
  // Verified tokens remembered per process (api/auth.ts): at most AUTH_TOKEN_CACHE_MAX, each for at
  // most AUTH_TOKEN_CACHE_SECONDS and never past its own expiry; 0 seconds = verify every call.
  AUTH_TOKEN_CACHE_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  AUTH_TOKEN_CACHE_MAX: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  // The codec server (/codec/encode, /codec/decode on API_PORT) for the Temporal Web UI: origins
  // of the UI allowed from browsers (comma-separated, or "*"; unset = none), and, for the dev
  // stack only, callers on loopback without a token (otherwise an operator's Bearer JWT).
  CODEC_CORS_ORIGINS: z.string().optional(),
  CODEC_ALLOW_LOOPBACK: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  CODEC_MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  // The account registry (table accounts, fed by core banking: scripts/accounts.sh): enforce = an
  // account a customer names must be theirs and open there (operators are not checked); off = not
  // checked (the API warns at start): only for a PSP whose registry is not fed yet.
  ACCOUNT_REGISTRY: z.enum(['enforce', 'off']).default('enforce'),
});

const workerSchema = z.object({
  ...common,
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(1000).default(100),
  // Workflow executions kept in memory (0 or unset: the SDK's default, ≈ 600 per GiB of V8 heap).
  // Bounds the worker's memory however many claims are parked (≈ 250 KiB each, bench/claims-park).
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(0),
  // The claims poller (BCB: at least once a minute; CLAIMS_LIST_WITH_ROLE allows 40 a minute).
  CLAIM_POLL_INTERVAL_MS: z.coerce.number().int().min(1_500).max(60_000).default(3_000),
  CLAIM_POLL_OVERLAP_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  CLAIM_POLLER_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  // On SIGTERM the worker stops polling and running activities get this long to finish before
  // they are cancelled (Temporal retries them elsewhere); then the pools close.
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  // The worker's own HTTP server: /metrics (ours + Temporal Core's) and /healthz (0: none).
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  // Where Temporal Core (Rust) serves its Prometheus metrics; /metrics of the worker appends them (0: off).
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9564),
});

// The outbox relay (relay/main.ts): Postgres outbox -> NATS JetStream. Only what it uses of common.
const relaySchema = z.object({
  LOG_LEVEL: common.LOG_LEVEL,
  PSP_ISPB: common.PSP_ISPB,
  DATABASE_URL: common.DATABASE_URL,
  DATABASE_POOL_MAX: common.DATABASE_POOL_MAX,
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  // The JetStream stream (created or updated at start) and its subjects' first tokens.
  NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('DICT_EVENTS'),
  NATS_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, 'dot-separated tokens, no wildcards').default('dict.events'),
  // JetStream drops a repeated Nats-Msg-Id (event_id) within this window; consumers dedupe beyond it.
  NATS_DUPLICATE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  // How long the stream keeps events (consumers that fall further behind miss them).
  NATS_STREAM_MAX_AGE_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(168),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(100),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  OUTBOX_BACKOFF_MIN_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  OUTBOX_BACKOFF_MAX_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  OUTBOX_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  // Published rows older than this are deleted (relay/prune.ts); unpublished rows never are.
  OUTBOX_RETENTION_HOURS: z.coerce.number().int().min(1).max(24 * 3_650).default(168),
  OUTBOX_PRUNE_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
  OUTBOX_PRUNE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1_000),
  // The relay's own HTTP server: /healthz, /readyz (Postgres and NATS), /metrics (0: none).
  RELAY_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  RELAY_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(9466),
  // Tests only: exit (code 86) right after claiming a batch or right after its acks, before marking.
  RELAY_FAULT: z.enum(['exit-before-publish', 'exit-after-publish']).optional(),
});

// Command-line tools on our database (scripts/accounts.ts): only what they use of common.
const toolSchema = z.object({ PSP_ISPB: common.PSP_ISPB, DATABASE_URL: common.DATABASE_URL });

/** Every process's schema, for tools that document the configuration (test/unit/config-readme.test.ts
 * checks the README's configuration table against them: every variable listed, defaults equal). */
export const configSchemas = { api: apiSchema, worker: workerSchema, relay: relaySchema } as const;

export type ApiConfig = z.infer<typeof apiSchema>;
export type RelayConfig = z.infer<typeof relaySchema>;
export type WorkerConfig = z.infer<typeof workerSchema>;
export type CommonConfig = Pick<ApiConfig, keyof typeof common>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function parse<T extends z.ZodTypeAny>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => parse(apiSchema, env);
export const loadRelayConfig = (env: NodeJS.ProcessEnv = process.env): RelayConfig => parse(relaySchema, env);
export const loadToolConfig = (env: NodeJS.ProcessEnv = process.env): z.infer<typeof toolSchema> => parse(toolSchema, env);
export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerConfig => parse(workerSchema, env);

/** Claim periods from configuration, in the workflows' units. */
export const claimPeriodsFromConfig = (c: CommonConfig): ClaimPeriods => ({
  resolutionMs: c.CLAIM_RESOLUTION_PERIOD_SECONDS * 1000,
  closingMs: c.CLAIM_CLOSING_PERIOD_SECONDS * 1000,
  claimerDeadlineMs: c.CLAIM_CLAIMER_DEADLINE_SECONDS * 1000,
});

/** Key material for the bridge, read once at boot. */
export interface DictClientMaterial {
  signing: { keyPem: string; certPem: string };
  trustedDictCertsPem: string[];
  tls?: { caPem?: string; certPem?: string; keyPem?: string };
}

export function readDictMaterial(c: CommonConfig): DictClientMaterial {
  const read = (name: string, file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${name}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const tls =
    c.DICT_TLS_CA_FILE || c.DICT_TLS_CERT_FILE || c.DICT_TLS_KEY_FILE
      ? {
          caPem: c.DICT_TLS_CA_FILE ? read('DICT_TLS_CA_FILE', c.DICT_TLS_CA_FILE) : undefined,
          certPem: c.DICT_TLS_CERT_FILE ? read('DICT_TLS_CERT_FILE', c.DICT_TLS_CERT_FILE) : undefined,
          keyPem: c.DICT_TLS_KEY_FILE ? read('DICT_TLS_KEY_FILE', c.DICT_TLS_KEY_FILE) : undefined,
        }
      : undefined;
  return {
    signing: {
      keyPem: read('DICT_SIGNING_KEY_FILE', c.DICT_SIGNING_KEY_FILE),
      certPem: read('DICT_SIGNING_CERT_FILE', c.DICT_SIGNING_CERT_FILE),
    },
    trustedDictCertsPem: [read('DICT_TRUSTED_CERT_FILE', c.DICT_TRUSTED_CERT_FILE)],
    tls,
  };
}

/** The API's TLS key pair when configured (both files or neither), read once at boot. */
export function readApiTls(c: Pick<ApiConfig, 'API_TLS_CERT_FILE' | 'API_TLS_KEY_FILE'>): { certPem: string; keyPem: string } | undefined {
  if (!c.API_TLS_CERT_FILE && !c.API_TLS_KEY_FILE) return undefined;
  if (!c.API_TLS_CERT_FILE || !c.API_TLS_KEY_FILE) throw new ConfigError('API_TLS_CERT_FILE and API_TLS_KEY_FILE: set both or neither');
  const read = (name: string, file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${name}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return { certPem: read('API_TLS_CERT_FILE', c.API_TLS_CERT_FILE), keyPem: read('API_TLS_KEY_FILE', c.API_TLS_KEY_FILE) };
}
