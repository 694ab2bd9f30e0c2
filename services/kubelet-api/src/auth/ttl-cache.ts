/**
 * A bounded map whose entries expire after a fixed time. Used for the
 * authentication and authorization caches: an entry is never served after its
 * TTL, and when full the oldest entry is dropped first. Time is read through
 * `now` so tests can move it.
 */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #loading = new Map<string, Promise<V>>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { maxEntries: number; now?: () => number }) {
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** A TTL <= 0 stores nothing (caching disabled). */
  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
  }

  /**
   * The cached value, else the one `fetch` answers, stored for the TTL it
   * names. Concurrent calls for a key not cached share one fetch, as the
   * kubelet's cached authenticator and authorizer do: 80 `kubectl logs -f`
   * opened at once with a new token make one TokenReview, not 80. A fetch
   * that fails is not cached; each waiting caller gets its error.
   */
  async load(key: string, fetch: () => Promise<{ value: V; ttlMs: number }>): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    let loading = this.#loading.get(key);
    if (!loading) {
      loading = fetch().then(({ value, ttlMs }) => {
        this.set(key, value, ttlMs);
        return value;
      }).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    return loading;
  }

  get size(): number {
    return this.#entries.size;
  }
}
