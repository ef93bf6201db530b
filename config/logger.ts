import pino, { type Logger } from 'pino';

/** One JSON logger per process. Keys and tax ids are personal data: never log them in clear. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    redact: {
      paths: ['key', '*.key', 'taxIdNumber', '*.taxIdNumber', '*.*.taxIdNumber', 'owner.name', '*.owner.name', 'payerId'],
      censor: '[masked]',
    },
  });
}
