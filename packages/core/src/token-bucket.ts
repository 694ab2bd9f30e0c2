/**
 * Client-side request throttling (`--kube-api-qps` / `--kube-api-burst`), the
 * way client-go's token bucket works: `burst` requests may go at once, then
 * `qps` per second. qps <= 0 disables throttling.
 */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  #queue: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { qps: number; burst: number }) {
    this.#qps = options.qps;
    this.#burst = Math.max(1, options.burst);
    this.#tokens = this.#burst;
    this.#last = performance.now();
  }

  /** Resolves when the caller may send one request. */
  acquire(): Promise<void> {
    if (this.#qps <= 0) return Promise.resolve();
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      this.#schedule();
    });
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
  }

  #schedule(): void {
    if (this.#timer) return;
    const waitMs = Math.max(0, ((1 - this.#tokens) / this.#qps) * 1000);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
      while (this.#queue.length > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#queue.shift()!();
      }
      if (this.#queue.length > 0) this.#schedule();
    }, waitMs);
  }
}
