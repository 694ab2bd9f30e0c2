import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Paths that may hold credentials anywhere we log request-shaped objects.
 * Logs must never carry a secret (DESIGN invariant 4).
 */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.data',
  '*.stringData',
];

export interface LoggerOptions {
  /** Service name, e.g. "node-agent"; becomes the `service` field of every line. */
  service: string;
  level?: LevelWithSilent;
  /** Where lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/** Root JSON logger of a service. Context goes in child loggers: `log.child({ node, pod })`. */
export function createLogger(options: LoggerOptions): Logger {
  const base = { service: options.service };
  const opts = { level: options.level ?? 'info', base, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
