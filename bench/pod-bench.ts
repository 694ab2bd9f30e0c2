// npm run bench → scripts/bench.sh → this: pod start/delete throughput, latency
// and cost of ours (1/2/4 pod-workers) side by side with the API server's own
// limit, kwok and upstream virtual-kubelet, each on a fresh control plane.
// Prints Markdown tables; writes every figure to bench/results/pod-bench-<time>.json.
//
//   node bench/pod-bench.ts [--quick] [--pods 1000,10000] [--workers 1,2,4]
//     [--systems limit,kwok,upstream-vk,ours] (also: upstream-vk-default, with upstream's queue rate limiter;
//       limit-watch2 and limit-get, the limit with a second watch or a GET per pod) [--rates 20,50,100] [--steady-seconds 60]
//     [--kwok-binary PATH --kwok-stages PATH --kwok-version V] [--upstream-vk-binary PATH]
//     [--cpu-prof-dir DIR]   V8 CPU profiles of our node-agent and pod-workers, written when they stop
//     [--cp-profile-dir DIR [--cp-profile-seconds 20]]  Go CPU profiles of the control plane, the first seconds of each scenario
//       (read with: go tool pprof -top FILE). Profiling costs the control plane CPU and holds each scenario's figures open
//       until the profile ends: compare profiled runs with each other, not with unprofiled ones.
//     [--v8-flags='--a --b']  V8 flags for all our processes instead of each service's own (serviceV8Flags; experiments)
//     [--worker-v8-flags='--a --b']  the same for the pod-workers only
//     [--agent-args='--flag value']  more node-agent flags for ours (experiments)
//     [--scale-latency-ms 200] [--scale-pods 2000] [--scale-workers 1,2,4]  worker scaling: a burst with every provider
//       call that slow, ours with each of --scale-workers (default: --workers) pod-workers (full run: on, 200 ms; --quick: off; 0: off)
//     [--no-bracket]  do not measure the limit a second time after the other systems (see below)
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeRestClient, loadKubeConfig } from '@vk-ts/core';
import { ControlPlane, REPO_ROOT } from '@vk-ts/testbed';
import { ApiserverMetrics } from './apiserver-metrics.ts';
import { markdownReport, ratios } from './bench-report.ts';
import type { BenchContext, BenchSystem } from './bench-system.ts';
import { machineInfo, type MachineInfo } from './machine-info.ts';
import { ScenarioRunner, type ScenarioResult } from './scenario-runner.ts';
import { startKwok } from './system-kwok.ts';
import { startLimit } from './system-limit.ts';
import { startOurs, type OursOptions } from './system-ours.ts';
import { startUpstreamVk } from './system-upstream-vk.ts';

const { values: args } = parseArgs({ options: {
  quick: { type: 'boolean', default: false },
  pods: { type: 'string' },
  workers: { type: 'string' },
  systems: { type: 'string', default: 'limit,kwok,upstream-vk,ours' },
  rates: { type: 'string' },
  'steady-seconds': { type: 'string' },
  'no-steady': { type: 'boolean', default: false },
  concurrency: { type: 'string', default: '16' },
  'in-flight': { type: 'string', default: '64' },
  'kwok-binary': { type: 'string', default: process.env.VK_BENCH_KWOK ?? '' },
  'kwok-stages': { type: 'string', default: process.env.VK_BENCH_KWOK_STAGES ?? '' },
  'kwok-version': { type: 'string', default: process.env.VK_BENCH_KWOK_VERSION ?? 'unknown' },
  'upstream-vk-binary': { type: 'string', default: process.env.VK_BENCH_UPSTREAM_VK ?? '' },
  out: { type: 'string' },
  'cpu-prof-dir': { type: 'string' },
  'cp-profile-dir': { type: 'string' },
  'cp-profile-seconds': { type: 'string', default: '20' },
  'v8-flags': { type: 'string' },
  'worker-v8-flags': { type: 'string' },
  'agent-args': { type: 'string' },
  'no-bracket': { type: 'boolean', default: false },
  'scale-latency-ms': { type: 'string' },
  'scale-pods': { type: 'string', default: '2000' },
  'scale-workers': { type: 'string' },
  'timeout-seconds': { type: 'string', default: '600' },
} });

const list = (s: string | undefined, fallback: number[]): number[] => (s ? s.split(',').map(Number) : fallback);
const quick = args.quick;
const options = {
  quick,
  pods: list(args.pods, quick ? [1000] : [1000, 10_000]),
  workers: list(args.workers, quick ? [1, 2] : [1, 2, 4]),
  systems: args.systems.split(','),
  rates: args['no-steady'] ? [] : list(args.rates, quick ? [50] : [20, 50, 100]),
  steadySeconds: Number(args['steady-seconds'] ?? (quick ? 10 : 60)),
  // --quick runs steady on the burst's control plane, after the delete, to stay under 5 minutes.
  steadyOnFreshControlPlane: !quick,
  podWorkerConcurrency: Number(args.concurrency),
  inFlight: Number(args['in-flight']),
  timeoutMs: Number(args['timeout-seconds']) * 1000,
  // Worker scaling: with a zero-latency provider on 2 cores the API server is the bottleneck from one
  // worker on, so the curve is measured against a slow provider (each call this long) as well.
  scaleLatencyMs: Number(args['scale-latency-ms'] ?? (quick ? 0 : 200)),
  scalePods: Number(args['scale-pods']),
  scaleWorkers: [] as number[],
};
options.scaleWorkers = list(args['scale-workers'], options.workers);

// Every numeric flag, checked at once: a typo fails the run here, naming each bad flag, not minutes later.
// Counts and durations must be whole and positive; only the provider latency may be 0 (off).
const isCount = (v: number): boolean => Number.isInteger(v) && v > 0;
const badFlags = [
  ...Object.entries({
    '--pods': options.pods, '--workers': options.workers, '--rates': options.rates, '--steady-seconds': [options.steadySeconds],
    '--concurrency': [options.podWorkerConcurrency], '--in-flight': [options.inFlight], '--timeout-seconds': [options.timeoutMs],
    '--scale-pods': [options.scalePods], '--scale-workers': options.scaleWorkers, '--cp-profile-seconds': [Number(args['cp-profile-seconds'])],
  }).filter(([, values]) => !values.every(isCount)).map(([flag]) => flag),
  ...(Number.isInteger(options.scaleLatencyMs) && options.scaleLatencyMs >= 0 ? [] : ['--scale-latency-ms (0 turns it off)']),
];
if (badFlags.length) {
  process.stderr.write(`pod-bench: these flags need whole numbers above 0 (lists: comma-separated): ${badFlags.join(', ')}\n`);
  process.exit(2);
}

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
const resultsDir = join(REPO_ROOT, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const outFile = args.out ?? join(resultsDir, `pod-bench-${quick ? 'quick-' : ''}${stamp}.json`);
const logRoot = mkdtempSync(join(tmpdir(), 'vk-pod-bench-'));
const results: ScenarioResult[] = [];
const systemsSeen: { label: string; kind: string; given: string; version: string }[] = [];
const notes: string[] = [];
let machine: MachineInfo | undefined;

function say(msg: string): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg })}\n`);
}

function save(): void {
  writeFileSync(outFile, `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine, options, systems: systemsSeen, notes, results, ratios: ratios(results) }, null, 2)}\n`);
}

type Starter = (ctx: BenchContext) => Promise<BenchSystem>;

const words = (v: string): string[] => v.split(' ').filter(Boolean);

/** The experiment flags (--v8-flags, --worker-v8-flags, --agent-args, --cpu-prof-dir) as options for one run of ours; `id` names its profile folder. */
function oursExperiments(id: string): Partial<OursOptions> {
  return {
    ...(args['v8-flags'] !== undefined ? { v8Flags: words(args['v8-flags']) } : {}),
    ...(args['worker-v8-flags'] !== undefined ? { workerV8Flags: words(args['worker-v8-flags']) } : {}),
    ...(args['agent-args'] ? { agentArgs: words(args['agent-args']) } : {}),
    ...(args['cpu-prof-dir'] ? { cpuProfileDir: join(args['cpu-prof-dir'], id) } : {}),
  };
}

function starters(): { id: string; start: Starter }[] {
  const out: { id: string; start: Starter }[] = [];
  for (const s of options.systems) {
    if (s === 'limit') out.push({ id: 'limit', start: (ctx) => startLimit(ctx, { nodeName: 'bench-limit', concurrency: options.inFlight }) });
    else if (s === 'limit-watch2' || s === 'limit-get') out.push({ id: s, start: (ctx) => startLimit(ctx, { nodeName: 'bench-limit', concurrency: options.inFlight, variant: s }) });
    else if (s === 'kwok') {
      if (!args['kwok-binary'] || !existsSync(args['kwok-binary'])) notes.push('kwok: no binary (scripts/lib/toolchain.sh ensure_kwok did not build it); not measured');
      else out.push({ id: 'kwok', start: (ctx) => startKwok(ctx, { binary: args['kwok-binary']!, stagesFile: args['kwok-stages']!, version: args['kwok-version']!, nodeName: 'bench-kwok', parallelism: options.podWorkerConcurrency }) });
    } else if (s === 'upstream-vk') {
      if (!args['upstream-vk-binary'] || !existsSync(args['upstream-vk-binary'])) notes.push('upstream virtual-kubelet: no binary (tools/upstream-vk did not build); not measured');
      else out.push({ id: 'upstream-vk', start: (ctx) => startUpstreamVk(ctx, { binary: args['upstream-vk-binary']!, nodeName: 'bench-vk', podSyncWorkers: options.podWorkerConcurrency, queueRateLimit: false }) });
    } else if (s === 'upstream-vk-default') {
      if (!args['upstream-vk-binary'] || !existsSync(args['upstream-vk-binary'])) notes.push('upstream virtual-kubelet: no binary (tools/upstream-vk did not build); not measured');
      else out.push({ id: 'upstream-vk-default', start: (ctx) => startUpstreamVk(ctx, { binary: args['upstream-vk-binary']!, nodeName: 'bench-vk', podSyncWorkers: options.podWorkerConcurrency, queueRateLimit: true }) });
    } else if (s === 'ours') {
      for (const w of options.workers) out.push({ id: `ours-${w}`, start: (ctx) => startOurs(ctx, { ...oursExperiments(`ours-${w}`), workers: w, concurrency: options.podWorkerConcurrency, nodeName: 'bench-ours' }) });
    } else throw new Error(`unknown system "${s}" (limit, limit-watch2, limit-get, kwok, upstream-vk, upstream-vk-default, ours)`);
  }
  // The machine's speed drifts (a shared VM: the same work has cost a fifth more CPU seconds from one
  // quarter-hour to the next), so the limit is measured again after the others, and ratios to the limit
  // use the mean of both measurements and show the range they span (bench-report.ts).
  if (options.systems.includes('limit') && out.length > 1 && !args['no-bracket']) {
    out.push({ id: 'limit-again', start: (ctx) => startLimit(ctx, { nodeName: 'bench-limit', concurrency: options.inFlight, label: 'limit (again)' }) });
  }
  return out;
}

/** A fresh control plane and system; `body` runs scenarios on them; everything is stopped after. */
async function withFreshSystem(id: string, group: string, start: Starter, body: (runner: ScenarioRunner) => Promise<void>): Promise<void> {
  const logDir = join(logRoot, `${group}-${id}`);
  mkdirSync(logDir, { recursive: true });
  const cp = await ControlPlane.start({ dataDir: join(logDir, 'controlplane'), pprof: Boolean(args['cp-profile-dir']) });
  const kubeConfig = loadKubeConfig({ kubeconfigPath: cp.kubeconfigPath });
  const client = await KubeRestClient.create({ kubeConfig, qps: 0, burst: 0, userAgent: 'vk-pod-bench', requestTimeoutMs: 120_000 });
  let system: BenchSystem | undefined;
  try {
    machine ??= await machineInfo(client);
    system = await start({ controlPlane: cp, client, logDir });
    systemsSeen.push({ label: system.label, kind: system.kind, given: system.given, version: system.version });
    const profileDir = args['cp-profile-dir'];
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const runner = new ScenarioRunner({
      client, metrics: await ApiserverMetrics.create(kubeConfig), system, controlPlanePid: cp.pid ?? -1, inFlight: options.inFlight, timeoutMs: options.timeoutMs,
      ...(profileDir && cp.pprofUrl ? { controlPlaneProfile: { pprofUrl: cp.pprofUrl, seconds: Number(args['cp-profile-seconds']), dir: profileDir, prefix: `${group}-${id}` } } : {}),
    });
    await body(runner);
  } catch (err) {
    const msg = `${id} (${group}): ${(err as Error).message}`;
    notes.push(msg);
    say(`failed: ${msg}`);
  } finally {
    await system?.close();
    client.close();
    await cp.close();
    save();
  }
}

function record(r: ScenarioResult): void {
  results.push(r);
  say(`${r.scenario} ${r.ratePerSecond ? `${r.ratePerSecond}/s` : r.pods} ${r.system}: ${r.error ? `FAILED ${r.error}` : `${r.durationSeconds} s, ${r.podsPerSecond} pods/s, writes/pod ${r.apiWritesPerPod}`}`);
  save();
}

const systems = starters();
say(`pod bench ${quick ? '(quick) ' : ''}logs in ${logRoot}, results to ${outFile}`);
for (const pods of options.pods) {
  for (const { id, start } of systems) {
    say(`burst+delete ${pods}: ${id}`);
    await withFreshSystem(id, `burst-${pods}`, start, async (runner) => {
      for (const r of await runner.burstAndDelete(pods)) record(r);
      if (!options.steadyOnFreshControlPlane && pods === options.pods[0]) {
        for (const rate of options.rates) record(await runner.steady(rate, options.steadySeconds));
      }
    });
  }
}
if (options.scaleLatencyMs > 0 && options.systems.includes('ours')) {
  for (const w of options.scaleWorkers) {
    say(`worker scaling, provider calls ${options.scaleLatencyMs} ms, burst ${options.scalePods}: ours ×${w}`);
    await withFreshSystem(`ours-${w}`, 'scale', (ctx) => startOurs(ctx, { ...oursExperiments(`scale-ours-${w}`), workers: w, concurrency: options.podWorkerConcurrency, nodeName: 'bench-ours', providerCallLatencyMs: options.scaleLatencyMs }),
      async (runner) => { for (const r of await runner.burstAndDelete(options.scalePods, true)) record(r); });
  }
}
if (options.steadyOnFreshControlPlane && options.rates.length) {
  for (const { id, start } of systems) {
    say(`steady ${options.rates.join(',')}/s: ${id}`);
    await withFreshSystem(id, 'steady', start, async (runner) => {
      for (const rate of options.rates) record(await runner.steady(rate, options.steadySeconds));
    });
  }
}
save();
process.stdout.write(`\n## Pod benchmark${quick ? ' (--quick)' : ''}: ${machine?.cores} cores, ${machine?.memoryGiB} GiB, ${machine?.kubernetes}, Node ${machine?.node}\n\n`);
process.stdout.write(`${markdownReport(results, systemsSeen)}\n`);
if (notes.length) process.stdout.write(`\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
process.stdout.write(`\nJSON: ${outFile}\nlogs: ${logRoot}\n`);
