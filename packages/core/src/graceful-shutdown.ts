import type { Logger } from './logger.ts';

export interface GracefulShutdownOptions {
  logger: Logger;
  /** Runs once on the first SIGTERM/SIGINT: drain in-flight work, release leases. */
  close: () => Promise<void>;
  /** After this long the process exits 1 even if close() has not finished. */
  timeoutMs: number;
  /** Injected for tests; defaults to process.exit. */
  exit?: (code: number) => void;
}

/**
 * Installs the service's only signal handlers. First signal: close() then exit 0
 * (exit 1 if close throws or exceeds the timeout). A second signal exits at once,
 * the way operators expect Ctrl-C twice to work.
 */
export function installGracefulShutdown(options: GracefulShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      options.logger.warn({ signal }, 'second signal: exiting without waiting');
      exit(1);
      return;
    }
    shuttingDown = true;
    options.logger.info({ signal, timeoutMs: options.timeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out: exiting with work possibly in flight');
      exit(1);
    }, options.timeoutMs);
    timer.unref();
    options.close().then(
      () => {
        clearTimeout(timer);
        options.logger.info('shutdown complete');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        options.logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
