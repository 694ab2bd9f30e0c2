import { Redis } from 'ioredis';

/** Redis's own command counters: total_commands_processed and calls per command. */
export interface RedisCommandCounts {
  total: number;
  byCommand: Record<string, number>;
}

/** Reads INFO stats / INFO commandstats of the queue's Redis (the bench's own INFO calls are included, 2 per read). */
export class RedisCommandStats {
  readonly #redis: Redis;

  constructor(url: string) {
    this.#redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  }

  async read(): Promise<RedisCommandCounts> {
    const stats = await this.#redis.info('stats');
    const commandStats = await this.#redis.info('commandstats');
    const total = Number(/^total_commands_processed:(\d+)/m.exec(stats)?.[1] ?? 0);
    const byCommand: Record<string, number> = {};
    for (const m of commandStats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) byCommand[m[1]!] = Number(m[2]);
    return { total, byCommand };
  }

  /** Idempotent. */
  close(): void {
    this.#redis.disconnect();
  }
}

export function diffRedisCounts(before: RedisCommandCounts, after: RedisCommandCounts): RedisCommandCounts {
  const byCommand: Record<string, number> = {};
  for (const [cmd, n] of Object.entries(after.byCommand)) {
    const d = n - (before.byCommand[cmd] ?? 0);
    if (d > 0) byCommand[cmd] = d;
  }
  return { total: after.total - before.total, byCommand };
}
