import type { RequestOptions } from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { ErrorCodes, VkError } from './errors.ts';
import { KubeApiMetrics } from './kube-api-metrics.ts';
import type { KubeConfigLike } from './kube-client.ts';
import { TokenBucket } from './token-bucket.ts';

/**
 * A thin JSON client for the Kubernetes REST API. @kubernetes/client-node
 * loads the kubeconfig and supplies credentials and the typed models; this
 * client sends the requests, because every service here needs what the
 * generated client lacks: client-side QPS/burst limits, per-verb request
 * metrics, precise patch types and preconditions, and a watch loop that hands
 * back raw events (no per-event re-serialisation on the hot path).
 */

export const PatchType = {
  Merge: 'application/merge-patch+json',
  StrategicMerge: 'application/strategic-merge-patch+json',
  Json: 'application/json-patch+json',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

/** Kubernetes' `Status` object as returned on errors. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

export class KubeApiError extends VkError {
  readonly statusCode: number;
  readonly reason: string | undefined;

  constructor(method: string, path: string, statusCode: number, status: KubeStatus | undefined) {
    super(ErrorCodes.KUBE_API, `Kubernetes API ${method} ${path} failed with ${statusCode}${status?.reason ? ` ${status.reason}` : ''}: ${status?.message ?? 'no message'}`, {
      details: { method, path, statusCode, reason: status?.reason },
    });
    this.statusCode = statusCode;
    this.reason = status?.reason;
  }
}

function statusOf(err: unknown): number | undefined {
  return err instanceof Error && 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;
}
export const isKubeNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isKubeConflict = (err: unknown): boolean => statusOf(err) === 409;
export const isKubeGone = (err: unknown): boolean => statusOf(err) === 410;
/** The API server refused the request for good: forbidden (RBAC, 403) or invalid (422). */
export const isKubeRefusal = (err: unknown): boolean => statusOf(err) === 403 || statusOf(err) === 422;
export const isKubeAlreadyExists = (err: unknown): boolean =>
  statusOf(err) === 409 && (err as KubeApiError).reason === 'AlreadyExists';

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface KubeRestClientOptions {
  kubeConfig: KubeConfigLike;
  /** Client-side throttle; <= 0 disables it. */
  qps: number;
  burst: number;
  userAgent: string;
  /**
   * When given, `vk_kube_api_requests_total{verb,code}` and
   * `vk_kube_api_request_duration_seconds{verb}` are recorded there (see KubeApiMetrics).
   */
  registry?: Registry;
  /** Per-request timeout (watches excepted). */
  requestTimeoutMs?: number;
}

export interface RequestOptionsLite {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Accept header; default application/json. */
  accept?: string;
  /**
   * A successful answer's body is drained unread and the call resolves to
   * undefined: for writes whose caller never looks at the returned object
   * (a status PATCH answers with the whole pod, which is CPU to decode and parse).
   */
  discardBody?: boolean;
  signal?: AbortSignal;
}

/**
 * Accept headers that make the API server send only objects' metadata
 * (PartialObjectMetadata), for clients that never read spec or status:
 * less to serialize, send and parse.
 */
export const METADATA_ONLY = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
} as const;

export class KubeRestClient {
  readonly server: URL;
  readonly #pool: Pool;
  readonly #bucket: TokenBucket;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  readonly #metrics: KubeApiMetrics | undefined;
  readonly #kubeConfig: KubeConfigLike;
  #headers: Record<string, string>;
  #headersAt = Date.now();

  private constructor(server: URL, tls: RequestOptions, options: KubeRestClientOptions) {
    this.server = server;
    this.#kubeConfig = options.kubeConfig;
    this.#headers = { ...(tls.headers as Record<string, string> | undefined) };
    // undici rather than node:http: about half the client CPU per request (bench/README), which a
    // pod-worker spends twice per pod in a burst. At most 64 connections, like the agent it replaced;
    // a watch holds one for its lifetime. HTTP/1.1 only: over HTTP/2 (undici's default when the
    // server offers it) the bench's watches were closed as slow about 200 times per 10,000-pod
    // burst instead of 3 to 20.
    this.#pool = new Pool(server.origin, { connections: 64, allowH2: false, ...(server.protocol === 'https:' ? { connect: pickTls(tls) } : {}) });
    this.#bucket = new TokenBucket({ qps: options.qps, burst: options.burst });
    this.#userAgent = options.userAgent;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#metrics = options.registry ? KubeApiMetrics.for(options.registry) : undefined;
  }

  static async create(options: KubeRestClientOptions): Promise<KubeRestClient> {
    const cluster = options.kubeConfig.getCurrentCluster();
    if (!cluster) throw new VkError(ErrorCodes.CONFIG_INVALID, 'Kubernetes client configuration has no current cluster');
    const tls: RequestOptions = {};
    await options.kubeConfig.applyToHTTPSOptions(tls);
    return new KubeRestClient(new URL(cluster.server), tls, options);
  }

  get<T>(path: string, options: RequestOptionsLite = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  create<T>(path: string, body: unknown, options: RequestOptionsLite = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  replace<T>(path: string, body: unknown, options: RequestOptionsLite = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  patch<T>(path: string, body: unknown, type: PatchType, options: RequestOptionsLite = {}): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body, contentType: type });
  }

  delete<T>(path: string, body?: unknown, options: RequestOptionsLite = {}): Promise<T> {
    return this.request<T>('DELETE', path, { ...options, body });
  }

  /**
   * Lists a collection in pages of `pageSize` (the API server's limit/continue
   * chunking), calling `onPage` with each page's items, and returns the
   * list's resourceVersion (that of the first page: all pages are one
   * consistent snapshot). Only one page is held at a time, which keeps a
   * 10,000-pod list from costing its whole JSON at once.
   */
  async listPaged<T>(path: string, query: RequestOptionsLite['query'], onPage: (items: T[]) => void | Promise<void>,
    { pageSize = 500, accept }: { pageSize?: number; accept?: string } = {}): Promise<string> {
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const page: { metadata: { resourceVersion?: string; continue?: string }; items: T[] | null } =
        await this.get(path, { query: { ...query, limit: pageSize, continue: cont }, accept });
      resourceVersion ??= page.metadata.resourceVersion;
      // An empty PartialObjectMetadataList comes with `"items": null`.
      await onPage(page.items ?? []);
      cont = page.metadata.continue || undefined;
    } while (cont);
    return resourceVersion ?? '';
  }

  /**
   * One request, and its answer's JSON. An answer that asks to be retried
   * later (429, or a 5xx with Retry-After: API priority and fairness, an API
   * server starting up) is waited out and sent again, as client-go does: at
   * most RETRY_AFTER_ATTEMPTS sends, each wait the Retry-After seconds capped
   * at RETRY_AFTER_MAX_S, and all waits together within the request timeout,
   * so that a caller with a deadline (a Lease renewal) is not held past it.
   * Anything else that is not 2xx is a KubeApiError.
   */
  async request<T>(method: string, path: string, options: RequestOptionsLite = {}): Promise<T> {
    let waitedMs = 0;
    for (let attempt = 1; ; attempt++) {
      await this.#bucket.acquire();
      await this.#refreshHeaders();
      const sentAt = performance.now();
      let res: Dispatcher.ResponseData;
      try {
        res = await this.#send(method, path, options, this.#timeoutMs);
      } catch (err) {
        this.#metrics?.answered(method, undefined);
        this.#metrics?.done(method, sentAt);
        throw err;
      }
      const code = res.statusCode;
      this.#metrics?.answered(method, code);
      const waitS = attempt < RETRY_AFTER_ATTEMPTS && (code === 429 || code >= 500) ? retryAfterSeconds(res.headers['retry-after']) : undefined;
      const waitMs = waitS === undefined ? undefined : Math.min(waitS, RETRY_AFTER_MAX_S) * 1000;
      const retryInMs = waitMs !== undefined && waitedMs + waitMs <= this.#timeoutMs ? waitMs : undefined;
      let text: string;
      try {
        text = await this.#read(res, method, path, retryInMs !== undefined || (options.discardBody === true && code >= 200 && code < 300));
      } finally {
        this.#metrics?.done(method, sentAt);
      }
      if (retryInMs !== undefined) {
        waitedMs += retryInMs;
        await delay(retryInMs, undefined, { signal: options.signal });
        continue;
      }
      if (code >= 200 && code < 300) return (text ? JSON.parse(text) : undefined) as T;
      throw new KubeApiError(method, path, code, safeParse(text));
    }
  }

  /**
   * Streams a watch: calls onEvent for each event until the server ends the
   * stream, the signal aborts, or an ERROR event arrives (thrown as
   * KubeApiError so callers can tell 410 Gone apart).
   */
  async watch<T>(path: string, query: RequestOptionsLite['query'], onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal, accept?: string): Promise<void> {
    await this.#bucket.acquire();
    await this.#refreshHeaders();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#send('GET', path, { query: { ...query, watch: true }, signal, accept }, 0);
    } catch (err) {
      this.#metrics?.answered('WATCH', undefined);
      throw err;
    }
    const code = res.statusCode;
    this.#metrics?.answered('WATCH', code);
    if (code !== 200) throw new KubeApiError('WATCH', path, code, safeParse(await this.#read(res, 'WATCH', path, false)));
    try {
      await readLines(res.body, (line) => {
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          const status = event.object as KubeStatus;
          throw new KubeApiError('WATCH', path, status.code ?? 500, status);
        }
        onEvent(event);
      });
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      res.body.destroy();
    }
  }

  /** Re-reads credentials once a minute: service-account token files are rotated under a running process. */
  async #refreshHeaders(): Promise<void> {
    if (Date.now() - this.#headersAt < 60_000) return;
    this.#headersAt = Date.now();
    const fresh: RequestOptions = {};
    try {
      await this.#kubeConfig.applyToHTTPSOptions(fresh);
      this.#headers = { ...(fresh.headers as Record<string, string> | undefined) };
    } catch {
      // Keep the last credentials; the API server's 401 will say if they no longer work.
    }
  }

  /** Idempotent. */
  close(): void {
    if (!this.#pool.destroyed) void this.#pool.destroy().catch(() => undefined);
  }

  /**
   * Sends one request. `timeoutMs` bounds the wait for the answer's headers
   * and each pause in its body (0: none, for watches); a timeout fails with
   * KUBE_API naming the request. Rejects with undici's abort error when `signal` aborts.
   */
  async #send(method: string, path: string, options: RequestOptionsLite, timeoutMs: number): Promise<Dispatcher.ResponseData> {
    let query = '';
    let sep = path.includes('?') ? '&' : '?';
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      query += `${sep}${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`;
      sep = '&';
    }
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = {
      ...this.#headers,
      accept: options.accept ?? 'application/json',
      'user-agent': this.#userAgent,
    };
    if (payload) headers['content-type'] = options.contentType ?? 'application/json';
    try {
      return await this.#pool.request({
        method: method as Dispatcher.HttpMethod, path: `${path}${query}`, headers, body: payload, signal: options.signal,
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        // Keep the connection after a DELETE with a body (DeleteOptions): undici closes it by default,
        // which cost a TLS handshake per deletion (1.8 ms of client CPU instead of 0.11).
        reset: false,
      });
    } catch (err) {
      throw this.#mapError(err, method, path, timeoutMs);
    }
  }

  /** The answer's body as text ('' when `discard`: drained unread). */
  async #read(res: Dispatcher.ResponseData, method: string, path: string, discard: boolean): Promise<string> {
    try {
      if (!discard) return await res.body.text();
      await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
      return '';
    } catch (err) {
      throw this.#mapError(err, method, path, this.#timeoutMs);
    }
  }

  /** Timeouts and network failures (refused, reset, TLS) as KUBE_API naming the request; an abort stays as it is. */
  #mapError(err: unknown, method: string, path: string, timeoutMs: number): unknown {
    if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
      return new VkError(ErrorCodes.KUBE_API, `Kubernetes API ${method} ${path} timed out after ${timeoutMs} ms`, { cause: err });
    }
    if (!(err instanceof Error) || err.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) return err;
    const code = (err as { code?: unknown }).code;
    return new VkError(ErrorCodes.KUBE_API, `Kubernetes API ${method} ${path} failed: ${err.message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  }
}

function pickTls(tls: RequestOptions): Record<string, unknown> {
  const { ca, cert, key, rejectUnauthorized, servername, pfx, passphrase } = tls;
  return Object.fromEntries(Object.entries({ ca, cert, key, rejectUnauthorized, servername, pfx, passphrase }).filter(([, v]) => v !== undefined));
}


/** Sends of one request at most, when the API server keeps answering "retry after" (client-go's default is 10). */
const RETRY_AFTER_ATTEMPTS = 10;
/** The longest single wait a Retry-After gets. */
const RETRY_AFTER_MAX_S = 10;

/** Retry-After as whole seconds (the API server sends seconds); undefined when absent or not a number. */
function retryAfterSeconds(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function safeParse(text: string): KubeStatus | undefined {
  try {
    return JSON.parse(text) as KubeStatus;
  } catch {
    return text ? { message: text.slice(0, 500) } : undefined;
  }
}

/**
 * Calls onLine with each non-empty newline-terminated line of a stream (and a
 * last unterminated one at its end); resolves when the stream ends, rejects
 * with the stream's error or the first error onLine throws (the stream is
 * then destroyed). Lines are cut on the newline byte, which never occurs
 * inside a UTF-8 sequence, and decoded whole. Not node:readline: its async
 * iterator costs a promise and several string copies per line, and a pod
 * watch in a burst carries tens of thousands of lines.
 */
function readLines(stream: Readable, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (err === undefined) resolve();
      else {
        stream.destroy();
        reject(err);
      }
    };
    const emit = (line: Buffer): boolean => {
      if (line.length === 0) return true;
      try {
        onLine(line.toString('utf8'));
        return true;
      } catch (err) {
        finish(err);
        return false;
      }
    };
    stream.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1 && !done; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        if (!emit(line)) return;
      }
      if (!done && start < chunk.length) pending.push(chunk.subarray(start));
    });
    stream.on('end', () => {
      if (pending.length > 0 && !emit(Buffer.concat(pending))) return;
      finish();
    });
    stream.on('error', (err) => finish(err));
    stream.on('close', () => finish());
  });
}
