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

export interface LoggerOptions {
  /** Human-readable lines through pino-pretty instead of JSON (see wantsPrettyLogs). */
  pretty?: boolean;
  /** How pino-pretty is loaded (tests stand in a missing one). */
  loadPretty?: () => PrettyFactory;
}

type PrettyFactory = (options: Record<string, unknown>) => pino.DestinationStream;

/**
 * JSON lines in production and wherever the output is read by a machine; human-readable
 * ones when stdout is a terminal outside production (DESIGN §7, issue 13).
 */
export function wantsPrettyLogs(env: { NODE_ENV?: string }, stdoutIsTTY: boolean): boolean {
  return stdoutIsTTY && env.NODE_ENV !== 'production';
}

/** pino-pretty, when it is installed: a production image may leave it out, and then the lines stay JSON. */
function prettyStream(load: () => PrettyFactory, destination?: pino.DestinationStream): pino.DestinationStream | null {
  let factory: PrettyFactory;
  try {
    factory = load();
  } catch {
    return null;
  }
  return factory({ colorize: !destination, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true, ...(destination ? { destination } : {}) });
}

const requirePretty = (): PrettyFactory => require('pino-pretty') as PrettyFactory;

/**
 * Structured logger with secrets redacted: JSON lines, or pino-pretty's lines with
 * `options.pretty` (falling back to JSON when pino-pretty is missing). Loggers about one
 * message or one check are children carrying its `queueId` or `domainId`.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ? prettyStream(options.loadPretty ?? requirePretty, destination) : null;
  return pino(
    {
      level,
      base: { service: 'mailwarden' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pretty ?? destination,
  );
}
