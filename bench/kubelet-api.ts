// kubelet-api figures for the closing note (not part of npm test):
//   1. log streaming throughput through the real API server: `kubectl logs` of a big log;
//   2. requests/s of /stats/summary with 1,000 pods in the provider (straight to kubelet-api over TLS,
//      as the API server's kubelet client, so authorization is the cached SubjectAccessReview path);
//   3. kubelet-api memory per open `logs -f` stream (many followed streams held open at once).
// Baseline in the same run: /healthz through the same TLS + auth path, so the stats figure can be read as
// "cost of the summary" over "cost of a request".
// Run: npm run bench -- kubelet-api [--log-mb 100] [--seconds 10] [--streams 200] [--debug] (--help lists the flags)
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { badCounts } from './cli-counts.ts';
import { MockBackendServer } from '@vk-ts/provider-mock';
import { ControlPlane, RedisServer, ServiceProcess, freePort, issueServingCert, waitFor } from '@vk-ts/testbed';

const run = promisify(execFile);
const opts = new Command('npm run bench -- kubelet-api')
  .description('kubelet-api figures: log streaming through the API server, /stats/summary requests/s with 1,000 pods, memory per followed log stream.')
  .option('--log-mb <n>', 'size of the log streamed through `kubectl logs`', '100')
  .option('--seconds <n>', 'how long each request-rate load runs', '10')
  .option('--streams <n>', '`logs -f` streams held open at once', '200')
  .option('--debug', 'print the tail of every process\'s output at the end', false)
  .showHelpAfterError()
  .parse(process.argv)
  .opts<{ logMb: string; seconds: string; streams: string; debug: boolean }>();
const logMb = Number(opts.logMb);
const seconds = Number(opts.seconds);
const streams = Number(opts.streams);
const bad = badCounts({ '--log-mb': [logMb], '--seconds': [seconds], '--streams': [streams] });
if (bad.length) {
  process.stderr.write(`kubelet-api bench: bad flags (see --help):\n${bad.map((b) => `  ${b}\n`).join('')}`);
  process.exit(2);
}

const cp = await ControlPlane.start();
const redis = await RedisServer.start();
const mock = new MockBackendServer();
const mockUrl = await mock.listen(0);
const dir = mkdtempSync(join(tmpdir(), 'vk-bench-kapi-'));
const cfg = join(dir, 'mock.toml');
writeFileSync(cfg, `endpoint = "${mockUrl}"\n`);
const pki = cp.pkiDir;
const kubectl = async (...args: string[]): Promise<string> => (await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args], { maxBuffer: 1 << 30 })).stdout;
const rssMb = (pid: number): number => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;

const { cert, key } = await issueServingCert({ pkiDir: pki, dir, nodeName: 'bench' });
const running: ServiceProcess[] = [];
async function kubeletApi(node: string): Promise<{ port: number; proc: ServiceProcess }> {
  const port = await freePort();
  const proc = ServiceProcess.start('kubelet-api', ['--kubeconfig', cp.kubeconfigPath, '--nodename', node, '--provider-config', cfg,
    '--host', '127.0.0.1', '--port', String(port), '--health-port', '0', '--tls-cert-file', cert, '--tls-key-file', key, '--log-level', 'warn']);
  running.push(proc);
  await waitFor(`kubelet-api for ${node}`, async () => (await fetch(`https://127.0.0.1:${port}/`).then(() => true, (e: Error) => !/ECONNREFUSED/.test(String((e as { cause?: Error }).cause ?? e)))), { timeoutMs: 30_000 });
  return { port, proc };
}
const agent = new Agent({
  keepAlive: true, maxSockets: 64, ca: readFileSync(join(pki, 'ca.crt')),
  cert: readFileSync(join(pki, 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki, 'apiserver-kubelet-client.key')),
});
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => { n += c.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
/** Closed loop with `concurrency` clients for `seconds`: requests per second and mean latency. */
async function load(port: number, path: string, concurrency: number): Promise<{ rps: number; meanMs: number; bytes: number }> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0; let bytes = 0; let totalMs = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < deadline) {
      const t = performance.now();
      bytes = await get(port, path);
      totalMs += performance.now() - t;
      done += 1;
    }
  }));
  return { rps: done / seconds, meanMs: totalMs / done, bytes };
}

const rows: string[] = [];
const progress = (what: string): void => void process.stderr.write(`bench: ${what}\n`);
try {
  progress('log throughput');
  // 1. Log throughput through the API server.
  const logsNode = 'bench-logs';
  const logsApi = await kubeletApi(logsNode);
  running.push(
    ServiceProcess.start('node-agent', ['--kubeconfig', cp.kubeconfigPath, '--nodename', logsNode, '--provider-config', cfg, '--redis-url', redis.url, '--kubelet-port', String(logsApi.port), '--health-port', '0', '--log-level', 'warn']),
    ServiceProcess.start('pod-worker', ['--kubeconfig', cp.kubeconfigPath, '--nodename', logsNode, '--provider-config', cfg, '--redis-url', redis.url, '--health-port', '0', '--log-level', 'warn']));
  await waitFor('default service account', () => kubectl('get', 'sa', 'default').then(() => true), { timeoutMs: 60_000 });
  await kubectl('run', 'big', '--image=busybox', '--restart=Never',
    `--overrides=${JSON.stringify({ spec: { nodeName: logsNode, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }] } })}`);
  const uid = await waitFor('pod Running', async () => {
    const p = JSON.parse(await kubectl('get', 'pod', 'big', '-o', 'json')) as { metadata: { uid: string }; status: { phase?: string } };
    return p.status.phase === 'Running' ? p.metadata.uid : undefined;
  }, { timeoutMs: 60_000 });
  const line = 'x'.repeat(199);
  const lines = Math.floor((logMb * 1024 * 1024) / 200);
  for (let i = 0; i < lines; i += 10_000) mock.backend.appendLog({ namespace: 'default', name: 'big', uid }, 'big', Array.from({ length: Math.min(10_000, lines - i) }, () => line));
  for (let attempt = 0; attempt < 3; attempt++) {
    const t = performance.now();
    const child = spawn('kubectl', ['--kubeconfig', cp.kubeconfigPath, 'logs', 'big'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (c: Buffer) => { bytes += c.length; });
    await new Promise((r) => child.once('exit', r));
    const s = (performance.now() - t) / 1000;
    rows.push(`| kubectl logs through the API server, run ${attempt + 1} | ${(bytes / 1024 / 1024 / s).toFixed(1)} MB/s | ${(bytes / 1024 / 1024).toFixed(0)} MB in ${s.toFixed(2)} s |`);
  }

  progress('stats');
  // 2. /stats/summary at 1,000 pods (straight into the mock backend for a node of its own: no pod-worker sweeps them).
  const statsNode = 'bench-stats';
  for (let i = 0; i < 1000; i++) {
    mock.backend.create({ node: statsNode, ref: { namespace: 'bench', name: `p-${i}`, uid: `uid-${i}` }, initContainers: [], volumes: [],
      containers: [{ name: 'app', image: 'nginx', command: [], args: [], env: {} }, { name: 'sidecar', image: 'envoy', command: [], args: [], env: {} }] });
  }
  const statsApi = await kubeletApi(statsNode);
  await get(statsApi.port, '/stats/summary');
  const base = await load(statsApi.port, '/healthz', 8);
  rows.push(`| baseline: /healthz over TLS + auth, 8 clients | ${base.rps.toFixed(0)} req/s | mean ${base.meanMs.toFixed(1)} ms |`);
  const stats = await load(statsApi.port, '/stats/summary', 8);
  rows.push(`| /stats/summary, 1,000 pods × 2 containers, 8 clients | ${stats.rps.toFixed(1)} req/s | mean ${stats.meanMs.toFixed(1)} ms, ${(stats.bytes / 1024).toFixed(0)} KiB each |`);
  const metrics = await load(statsApi.port, '/metrics/resource', 8);
  rows.push(`| /metrics/resource, same pods, 8 clients | ${metrics.rps.toFixed(1)} req/s | mean ${metrics.meanMs.toFixed(1)} ms, ${(metrics.bytes / 1024).toFixed(0)} KiB each |`);
  rows.push(`| kubelet-api RSS after the stats load | ${rssMb(statsApi.proc.child.pid!).toFixed(0)} MB | |`);

  progress('follow streams');
  // 3. Memory per open `logs -f` stream (followed streams of the running pod, held open).
  const pid = logsApi.proc.child.pid!;
  const before = rssMb(pid);
  const followAgent = new Agent({ keepAlive: false, maxSockets: Infinity, ca: readFileSync(join(pki, 'ca.crt')),
    cert: readFileSync(join(pki, 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki, 'apiserver-kubelet-client.key')) });
  // Each stream is counted open once its first line arrived (a followed log with tailLines=0 sends nothing before).
  let arrived = 0;
  const open = Array.from({ length: streams }, () => {
    const req = request({ host: '127.0.0.1', port: logsApi.port, path: '/containerLogs/default/big/big?follow=true&tailLines=0', agent: followAgent }, (res) => {
      res.once('data', () => { arrived += 1; });
      res.on('data', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    return req;
  });
  await waitFor(`${streams} followed streams`, () => {
    mock.backend.appendLog({ namespace: 'default', name: 'big', uid }, 'big', ['every stream gets this line']);
    return arrived === streams;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  const during = rssMb(pid);
  rows.push(`| kubelet-api RSS with ${streams} open logs -f streams | ${((during - before) * 1024 / streams).toFixed(0)} KB per stream | ${before.toFixed(0)} MB → ${during.toFixed(0)} MB |`);
  for (const req of open) req.destroy();
  followAgent.destroy();
} finally {
  console.log(`\nkubelet-api (log ${logMb} MB, load ${seconds} s per row)\n`);
  console.log('| what | figure | detail |\n|---|---|---|');
  console.log(rows.join('\n'));
  if (opts.debug) for (const s of running) console.log(`--- ${s.name}\n${s.output.slice(-3000)}`);
  agent.destroy();
  await Promise.all(running.map((s) => s.stop()));
  await mock.close();
  await redis.close();
  await cp.close();
}
