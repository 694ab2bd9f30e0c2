import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockBackend, MockBackendError, mockPodKey, type MockPod, type MockPodSpec } from './mock-backend.ts';

const RECEIVED_MAX = 10_000;
/** The largest page a listing answers (`limit`). */
const MAX_PAGE = 5000;

/**
 * The mock backend's HTTP API: a stand-in for a cloud container service. It
 * is ours (there is no real part to run for "the mock provider"), and it says
 * so: every response carries `x-mock-backend: virtual-kubelet-ts`.
 *
 *   GET    /healthz                                   200, or 503 while faults.healthy=false
 *   GET    /v1/pods?node=N                            every pod (of node N)
 *   GET    /v1/pods?node=N&limit=L[&continue=C]       one page in key order: {items, continue?} (pass continue to get the next)
 *   PUT    /v1/pods/{ns}/{name}/{uid}                 create (idempotent), body MockPodSpec
 *   PATCH  /v1/pods/{ns}/{name}/{uid}                 update, body MockPodSpec
 *   GET    /v1/pods/{ns}/{name}/{uid}                 one pod or 404
 *   DELETE /v1/pods/{ns}/{name}/{uid}[?gracePeriodSeconds=N]  stop and remove (absent is fine); answers {pod: what is left, or null}
 *   GET    /v1/pods/{ns}/{name}/{uid}/logs/{container}?tailLines&limitBytes&sinceTime&timestamps&follow&previous
 *   GET    /v1/nodes/{node}/stats                     { at, pods, removedPodsCpuUsed }: one snapshot of the node's pods and the
 *                                                     CPU (core-ns) of its pods already removed, as of `at` (for stats)
 *   PUT    /admin/faults                              body Partial<MockFaults>
 *   POST   /admin/pods/{ns}/{name}/{uid}/lose
 *   POST   /admin/pods/{ns}/{name}/{uid}/exit/{container}   body { exitCode }
 *   POST   /admin/pods/{ns}/{name}/{uid}/logs/{container}   body { lines: string[] }
 *   POST   /admin/pods/{ns}/{name}/{uid}/usage/{container}  body { cpuNanoCores?, memoryBytes? }
 *   GET    /admin/create-counts                       { "<ns>/<name>/<uid>": n }
 */
export class MockBackendServer {
  readonly backend: MockBackend;
  /** Method and raw URL of the latest requests (at most RECEIVED_MAX), so tests can assert what reached the "cloud". */
  readonly received: { method: string; url: string }[] = [];
  #server: Server | undefined;
  #closing: Promise<void> | undefined;

  constructor(backend = new MockBackend()) {
    this.backend = backend;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      res.setHeader('x-mock-backend', 'virtual-kubelet-ts');
      this.received.push({ method: req.method ?? 'GET', url: req.url ?? '/' });
      if (this.received.length > RECEIVED_MAX) this.received.splice(0, this.received.length - RECEIVED_MAX);
      this.#route(req, res).catch((err: unknown) => sendError(res, err));
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.backend.close();
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const b = this.backend;

    if (parts[0] === 'healthz') {
      if (b.faults.healthy) return sendJson(res, 200, { ok: true });
      return sendJson(res, 503, { message: 'mock backend set unhealthy' });
    }
    if (parts[0] === 'v1' && parts[1] === 'nodes' && parts.length === 4 && parts[3] === 'stats' && method === 'GET') {
      // One snapshot, taken at one time: a pod removed between two separate answers would be counted twice or
      // not at all, and the node's cumulative CPU would fall at the next scrape.
      const node = parts[2]!;
      return sendJson(res, 200, { at: new Date().toISOString(), pods: b.list(node).map(listView), removedPodsCpuUsed: b.removedPodsCpuUsed(node) });
    }
    if (parts[0] === 'v1' && parts[1] === 'pods') {
      if (b.faults.callLatencyMs > 0) await new Promise((r) => setTimeout(r, b.faults.callLatencyMs));
      // Listings leave out logs and env: the status sync lists every pod every few seconds.
      if (parts.length === 2 && method === 'GET') {
        const node = url.searchParams.get('node') ?? undefined;
        const limitParam = url.searchParams.get('limit');
        if (limitParam === null) return sendJson(res, 200, b.list(node).map(listView));
        const limit = Number(limitParam);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
          return sendJson(res, 400, { message: `limit must be an integer from 1 to ${MAX_PAGE}, got "${limitParam}"` });
        }
        const page = b.listPage(node, limit, url.searchParams.get('continue') ?? '');
        return sendJson(res, 200, { ...page, items: page.items.map(listView) });
      }
      const ref = { namespace: parts[2] ?? '', name: parts[3] ?? '', uid: parts[4] ?? '' };
      if (parts.length === 5) {
        if (method === 'PUT') return sendJson(res, 200, b.create(await readJson<MockPodSpec>(req)));
        if (method === 'PATCH') return sendJson(res, 200, b.update(await readJson<MockPodSpec>(req)));
        if (method === 'DELETE') {
          b.delete(ref, Number(url.searchParams.get('gracePeriodSeconds') ?? 0) || 0);
          return sendJson(res, 200, { pod: b.get(ref) ?? null });
        }
        if (method === 'GET') {
          const pod = b.get(ref);
          if (!pod) throw new MockBackendError('not-found', `no pod ${mockPodKey(ref)} in the mock backend`);
          return sendJson(res, 200, pod);
        }
      }
      if (parts.length === 7 && parts[5] === 'logs' && method === 'GET') return this.#streamLogs(ref, parts[6]!, url.searchParams, req, res);
    }
    if (parts[0] === 'admin') {
      if (parts[1] === 'faults' && method === 'PUT') return sendJson(res, 200, b.setFaults(await readJson(req)));
      if (parts[1] === 'create-counts' && method === 'GET') return sendJson(res, 200, Object.fromEntries(b.createCounts));
      const ref = { namespace: parts[2] ?? '', name: parts[3] ?? '', uid: parts[4] ?? '' };
      if (parts[1] === 'pods' && method === 'POST') {
        if (parts[5] === 'lose') { b.lose(ref); return sendJson(res, 200, {}); }
        if (parts[5] === 'exit' && parts[6]) {
          b.exitContainer(ref, parts[6], (await readJson<{ exitCode: number }>(req)).exitCode);
          return sendJson(res, 200, {});
        }
        if (parts[5] === 'usage' && parts[6]) {
          b.setUsage(ref, parts[6], await readJson<{ cpuNanoCores?: number; memoryBytes?: number }>(req));
          return sendJson(res, 200, {});
        }
        if (parts[5] === 'logs' && parts[6]) {
          b.appendLog(ref, parts[6], (await readJson<{ lines: string[] }>(req)).lines);
          return sendJson(res, 200, {});
        }
      }
    }
    sendJson(res, 404, { message: `no route ${method} ${url.pathname}` });
  }

  #streamLogs(ref: { namespace: string; name: string; uid: string }, container: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const pod = this.backend.get(ref);
    const c = pod?.containers.find((x) => x.name === container);
    if (pod && !c && pod.spec.initContainers.some((x) => x.name === container)) {
      // Init containers complete at once in the mock, having written nothing.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    if (!pod || !c) throw new MockBackendError('not-found', `no container "${container}" in pod ${mockPodKey(ref)}`);
    const previous = q.get('previous') === 'true';
    if (previous && !c.previousLogs) {
      throw new MockBackendError('not-found', `previous terminated container "${container}" in pod "${ref.namespace}/${ref.name}" not found`);
    }
    const logs = previous ? c.previousLogs! : c.logs;
    const timestamps = q.get('timestamps') === 'true';
    const sinceTime = q.get('sinceTime') ? Date.parse(q.get('sinceTime')!) : undefined;
    const tailLines = q.get('tailLines') ? Number(q.get('tailLines')) : undefined;
    let budget = q.get('limitBytes') ? Number(q.get('limitBytes')) : Infinity;
    const follow = q.get('follow') === 'true';
    const format = (e: { time: string; line: string }): string => `${timestamps ? `${e.time} ` : ''}${e.line}\n`;

    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    let entries = logs.filter((e) => sinceTime === undefined || Date.parse(e.time) >= sinceTime);
    if (tailLines !== undefined) entries = tailLines === 0 ? [] : entries.slice(-tailLines);
    // Lines are batched into writes of about 64 KiB: one write per line of a big log (hundreds of
    // thousands) overwhelms the socket's write queue and the connection is dropped.
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      res.write(batch.length === 1 ? batch[0] : Buffer.concat(batch, batchBytes));
      batch = [];
      batchBytes = 0;
    };
    const write = (e: { time: string; line: string }, batched = false): boolean => {
      if (budget <= 0) return false;
      const text = Buffer.from(format(e));
      const chunk = text.length > budget ? text.subarray(0, budget) : text;
      budget -= chunk.length;
      batch.push(chunk);
      batchBytes += chunk.length;
      if (!batched || batchBytes >= 65_536) flush();
      return budget > 0;
    };
    for (const e of entries) if (!write(e, true)) { flush(); return void res.end(); }
    flush();
    // A previous run's log is complete: nothing to follow.
    if (!follow || previous || c.state.state === 'terminated') return void res.end();

    const key = `${mockPodKey(ref)}/${container}`;
    const onLog = (e: { time: string; line: string }): void => { if (!write(e)) cleanup(); };
    const cleanup = (): void => {
      this.backend.events.off(`log:${key}`, onLog);
      this.backend.events.off(`ended:${key}`, cleanup);
      this.backend.events.off(`ended:${mockPodKey(ref)}`, cleanup);
      res.end();
    };
    this.backend.events.on(`log:${key}`, onLog);
    this.backend.events.once(`ended:${key}`, cleanup);
    this.backend.events.once(`ended:${mockPodKey(ref)}`, cleanup);
    req.once('close', cleanup);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) { res.destroy(); return; }
  if (err instanceof MockBackendError) return sendJson(res, err.status, { kind: err.kind, message: err.message, ...err.details });
  if (err instanceof SyntaxError) return sendJson(res, 400, { kind: 'permanent', message: `invalid JSON body: ${err.message}` });
  sendJson(res, 500, { kind: 'transient', message: (err as Error).message });
}

async function readJson<T = Record<string, unknown>>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as T;
}

/** A pod as listed: state without log lines, spec without env values. */
function listView(pod: MockPod): MockPod {
  return {
    ...pod,
    containers: pod.containers.map((c) => ({ ...c, logs: [], previousLogs: undefined })),
    spec: { ...pod.spec, containers: pod.spec.containers.map((c) => ({ ...c, env: {} })), initContainers: pod.spec.initContainers.map((c) => ({ ...c, env: {} })) },
  };
}
