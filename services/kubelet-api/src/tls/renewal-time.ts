/**
 * When to renew a certificate: at a random point between 70% and 90% of its
 * lifetime, as the kubelet's certificate manager does, so that replicas and
 * nodes issued at the same time do not all renew at once and a failed
 * renewal still has time to be retried before expiry.
 */
export function renewalTime(notBefore: Date, notAfter: Date, random: () => number = Math.random): Date {
  const lifetimeMs = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + lifetimeMs * (0.7 + 0.2 * random()));
}

/** setTimeout's delay is a 32-bit signed count of ms (~24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` at `at` (or at once if past); returns a cancel function. The timer does not keep the process alive. */
export function scheduleAt(at: Date, fn: () => void, now: () => number = Date.now): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const delay = at.getTime() - now();
    if (delay <= 0) {
      timer = undefined;
      fn();
      return;
    }
    timer = setTimeout(arm, Math.min(delay, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => { if (timer) clearTimeout(timer); };
}
