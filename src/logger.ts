import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths that must never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
  'masterKey',
  '*.masterKey',
  'adminApiKey',
  '*.adminApiKey',
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'config.masterKey',
  'config.adminApiKey',
];

/** Structured JSON logger with secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'mailwarden' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
