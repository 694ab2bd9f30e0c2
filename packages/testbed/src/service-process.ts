import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild, waitForExit } from './child-process.ts';
import { serviceBundle, type BundleName } from './service-bundles.ts';
import { serviceV8Flags } from '@vk-ts/core';

/**
 * One of our services run as a real process (node services/<name>/dist/main.js, its bundle),
 * with its output kept for assertions and debugging.
 */
export class ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output = '';
  readonly #waiters: { pattern: RegExp; resolve: () => void }[] = [];

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    const onData = (chunk: Buffer): void => {
      this.output += chunk.toString();
      for (const w of [...this.#waiters]) {
        if (w.pattern.test(this.output)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }

  static start(name: Exclude<BundleName, 'mock-backend'>, args: string[], env: NodeJS.ProcessEnv = {}): ServiceProcess {
    const child = spawn(process.execPath, [...serviceV8Flags(name), serviceBundle(name), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
    });
    return new ServiceProcess(name, child);
  }

  /** Resolves when the output matches, rejects after timeoutMs or when the process exits first. */
  waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    if (pattern.test(this.output)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no output matching ${pattern} within ${timeoutMs} ms; output:\n${this.output.slice(-3000)}`)), timeoutMs);
      const waiter = { pattern, resolve: () => { clearTimeout(timer); resolve(); } };
      this.#waiters.push(waiter);
      void waitForExit(this.child).then((code) => {
        if (!this.#waiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before printing ${pattern}; output:\n${this.output.slice(-3000)}`));
      });
    });
  }

  exited(): Promise<number | string> {
    return waitForExit(this.child);
  }

  stop(graceMs = 10_000): Promise<number | string> {
    return stopChild(this.child, graceMs);
  }

  kill(): Promise<number | string> {
    this.child.kill('SIGKILL');
    return waitForExit(this.child);
  }
}
