// One JSON logger per process (pino). Keys, tax ids, phones, e-mails and names are personal data
// (LGPD) and signature values are secrets of the message: every line passes through
// domain/mask.ts — fields holding personal data are dropped by name (redact), and every string
// (messages, error messages and stacks, nested values) is masked by pattern. Each line has exactly
// one `msg`: callers put extra text under another field (`error`, `detail`), never `msg`.
//
// LOG_FILE (optional) appends the lines to that file instead of stdout (the test suite points
// every process at .data/test/logs/ so test/support/log-scan.ts can check them all).
import pino, { type Logger } from 'pino';
import { maskDeep, maskText } from '../domain/mask.js';

// Not the top-level `name`: pino's own field (the service). maskDeep drops a `name` we log.
const REDACT_PATHS = [
  'key', '*.key', 'taxIdNumber', '*.taxIdNumber', '*.*.taxIdNumber', '*.name', 'owner.name', '*.owner.name', '*.*.name',
  'tradeName', '*.tradeName', '*.*.tradeName', 'payerId', '*.payerId', 'email', '*.email', 'phone', '*.phone',
];

const serializeErr = (e: Error): unknown => pino.stdSerializers.err(e);

export interface LoggerOptions {
  /** Append to this file (created if missing) instead of writing to stdout. */
  file?: string;
}

export function createLogger(service: string, level: string, o: LoggerOptions = {}): Logger {
  const file = o.file ?? process.env.LOG_FILE;
  const options: pino.LoggerOptions = {
    name: service,
    level,
    redact: { paths: REDACT_PATHS, censor: '[masked]' },
    // Errors are serialized and masked by the formatter below; pino's own pass would redo it.
    serializers: { err: (v: unknown) => v },
    formatters: { log: (obj) => maskDeep(obj, serializeErr) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') (args as unknown[])[i] = maskText(args[i] as string);
        method.apply(this, args);
      },
    },
  };
  return file ? pino(options, pino.destination({ dest: file, append: true, mkdir: true, sync: true })) : pino(options);
}
