import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { stopChild, waitForExit } from '@vk-ts/testbed';

/**
 * A process the bench starts (one of ours or a peer): its output goes to a log
 * file, and only a short tail is kept in memory, so a chatty process costs the
 * bench nothing while it measures.
 */
export class BenchProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  #tail = '';
  readonly #log: WriteStream;
  readonly #waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  #pending = '';

  constructor(name: string, command: string, args: string[], options: { logFile: string; env?: NodeJS.ProcessEnv }) {
    this.name = name;
    this.logFile = options.logFile;
    this.#log = createWriteStream(options.logFile);
    this.#log.write(`$ ${command} ${args.join(' ')}\n`);
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    const onData = (chunk: Buffer): void => {
      this.#log.write(chunk);
      const text = chunk.toString();
      this.#tail = (this.#tail + text).slice(-8192);
      if (this.#waiters.length === 0) return;
      this.#pending += text;
      const lines = this.#pending.split('\n');
      this.#pending = lines.pop() ?? '';
      for (const line of lines) {
        for (const w of [...this.#waiters]) {
          if (w.pattern.test(line)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the first output line (from now on) matching pattern; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms; last output:\n${this.#tail.slice(-2000)}`)), timeoutMs);
      const waiter = { pattern, resolve: (line: string) => { clearTimeout(timer); resolve(line); } };
      const fail = (err: Error): void => {
        clearTimeout(timer);
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(err);
      };
      this.#waiters.push(waiter);
      void waitForExit(this.child).then((code) => {
        if (this.#waiters.includes(waiter)) fail(new Error(`${this.name} exited (${code}); last output:\n${this.#tail.slice(-2000)}`));
      });
    });
  }

  get tail(): string {
    return this.#tail;
  }

  /** SIGTERM, SIGKILL after graceMs; idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    await stopChild(this.child, graceMs);
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }
}
