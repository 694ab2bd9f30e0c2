/**
 * Capped exponential backoff with full jitter, for loops that must never give
 * up (API server connection lost): 0.5 s, 1 s, 2 s, ... up to maxMs.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #attempt = 0;

  constructor(options: { initialMs?: number; maxMs?: number } = {}) {
    this.#initialMs = options.initialMs ?? 500;
    this.#maxMs = options.maxMs ?? 30_000;
  }

  /** The next delay; grows until reset(). */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after ms, or at once when the signal aborts (never rejects). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for `work` to settle, or no longer once `signal` aborts (never
 * rejects; the work goes on unobserved). For shutdown paths that must not
 * hang on a call that cannot finish, such as a Redis command queued while
 * Redis is down.
 */
export function untilAborted(work: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    work.then(done, done);
  });
}
