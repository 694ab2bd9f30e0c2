import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@vk-ts/core';
import { checkServingMaterial, type ServingMaterial } from './serving-material.ts';

export interface CertificateFileWatcherOptions {
  certFile: string;
  keyFile: string;
  logger: Logger;
  /** Called with each new, valid pair (not the first, which load() returns). */
  onChange: (material: ServingMaterial) => void;
  /** Safety re-read for file systems without change events. */
  pollIntervalMs?: number;
}

/**
 * Serves certificate and key from files and notices when they change on
 * disk: inotify on their directories (which also sees a Kubernetes Secret
 * volume's atomic symlink swap), plus a slow poll. A half-written or
 * mismatched pair is ignored (logged) and the previous one stays in use until
 * a valid pair appears.
 */
export class CertificateFileWatcher {
  readonly #options: CertificateFileWatcherOptions;
  readonly #watchers: FSWatcher[] = [];
  #current: ServingMaterial | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: CertificateFileWatcherOptions) {
    this.#options = options;
  }

  /** Reads and checks the pair; throws (with the file names) when it is unusable. */
  async load(): Promise<ServingMaterial> {
    const material = await this.#read();
    checkServingMaterial(material);
    this.#current = material;
    return material;
  }

  start(): void {
    for (const dir of new Set([dirname(this.#options.certFile), dirname(this.#options.keyFile)])) {
      const watcher = watch(dir, () => this.#changed());
      watcher.on('error', (err) => this.#options.logger.warn({ err, dir }, 'cannot watch the certificate directory; relying on the periodic re-read'));
      watcher.unref();
      this.#watchers.push(watcher);
    }
    this.#timer = setInterval(() => void this.#reload(), this.#options.pollIntervalMs ?? 60_000);
    this.#timer.unref();
  }

  /** Idempotent. */
  close(): void {
    this.#closed = true;
    for (const w of this.#watchers.splice(0)) w.close();
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
  }

  #changed(): void {
    // Writers touch the files several times (truncate, write, rename): settle first.
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.#reload(), 100);
    this.#debounce.unref();
  }

  async #reload(): Promise<void> {
    if (this.#closed) return;
    let material: ServingMaterial;
    try {
      material = await this.#read();
    } catch (err) {
      this.#options.logger.warn({ err }, 'cannot re-read the serving certificate files; keeping the current pair');
      return;
    }
    if (material.cert === this.#current?.cert && material.key === this.#current.key) {
      this.#options.logger.debug({ certFile: this.#options.certFile }, 'serving certificate files re-read: unchanged');
      return;
    }
    try {
      checkServingMaterial(material);
    } catch (err) {
      this.#options.logger.warn({ err, certFile: this.#options.certFile, keyFile: this.#options.keyFile }, 'changed serving certificate files are not a valid pair (yet); keeping the current pair');
      return;
    }
    this.#current = material;
    this.#options.logger.info({ certFile: this.#options.certFile }, 'serving certificate reloaded from disk');
    this.#options.onChange(material);
  }

  async #read(): Promise<ServingMaterial> {
    return { cert: await readFile(this.#options.certFile, 'utf8'), key: await readFile(this.#options.keyFile, 'utf8') };
  }
}
