import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild, waitForExit } from './child-process.ts';
import { freePort } from './free-port.ts';

/** A real redis-server (Debian package) on a loopback port of its own, no persistence. */
export class RedisServer {
  readonly url: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #dir: string;
  #closing: Promise<void> | undefined;

  private constructor(child: ChildProcess, port: number, dir: string) {
    this.#child = child;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = dir;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  static async start(options: { binary?: string } = {}): Promise<RedisServer> {
    const binary = options.binary ?? 'redis-server';
    if (spawnSync(binary, ['--version']).error) {
      throw new Error(`${binary} not found: install the Debian package "redis-server" (npm test and npm run dev do it when run as root)`);
    }
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'vk-redis-'));
      const port = await freePort();
      const child = spawn(binary, [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--save', '', '--appendonly', 'no', '--protected-mode', 'yes',
        // BullMQ requires that Redis never evicts its keys.
        '--maxmemory-policy', 'noeviction',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const lines = createInterface({ input: child.stdout! });
      for await (const line of lines) {
        output += `${line}\n`;
        if (line.includes('Ready to accept connections')) return new RedisServer(child, port, dir);
      }
      const code = await waitForExit(child);
      rmSync(dir, { recursive: true, force: true });
      lastError = new Error(`redis-server exited (${code}) before ready: ${output.slice(-500)}`);
    }
    throw lastError ?? new Error('redis-server did not start');
  }

  close(): Promise<void> {
    this.#closing ??= stopChild(this.#child, 5_000).then(() => rmSync(this.#dir, { recursive: true, force: true }));
    return this.#closing;
  }
}
