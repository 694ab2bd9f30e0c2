import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * An extra address on the loopback device, from 198.18.0.0/15 (the range
 * set aside for benchmarking, RFC 2544), so that the API server's node proxy
 * (which refuses loopback and link-local node addresses) can reach a service
 * on this machine: traffic to an address of `lo` never leaves the machine.
 * Needs root (CAP_NET_ADMIN); `add()` resolves to a reason instead when it
 * cannot, for tests to skip with.
 */
export class LoopbackAlias {
  readonly address: string;
  #removed: Promise<void> | undefined;

  private constructor(address: string) {
    this.address = address;
  }

  static async add(): Promise<LoopbackAlias | { skipReason: string }> {
    if (process.getuid?.() !== 0) return { skipReason: 'not root: cannot add an address to the loopback device (ip addr add … dev lo)' };
    // Random within 198.18.0.0/15 so parallel test runs on one machine do not collide.
    for (let attempt = 0; attempt < 5; attempt++) {
      const address = `198.${18 + randomInt(2)}.${randomInt(256)}.${1 + randomInt(254)}`;
      try {
        await run('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
        return new LoopbackAlias(address);
      } catch (err) {
        if (!/File exists/.test((err as { stderr?: string }).stderr ?? '')) {
          return { skipReason: `cannot add ${address} to lo: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}` };
        }
      }
    }
    return { skipReason: 'no free address in 198.18.0.0/15 after 5 tries' };
  }

  /** Idempotent; never throws. */
  remove(): Promise<void> {
    this.#removed ??= run('ip', ['addr', 'del', `${this.address}/32`, 'dev', 'lo']).then(() => undefined, () => undefined);
    return this.#removed;
  }
}
