// npm run bench → scripts/bench.sh → this: pod start/delete throughput, latency
// and cost of ours (1/2/4 pod-workers) side by side with the API server's own
// limit, kwok and upstream virtual-kubelet, each on a fresh control plane.
// Prints Markdown tables; writes every figure to bench/results/pod-bench-<time>.json.
// Every flag is in `npm run bench -- --help` (bench/README.md says what each system is given).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { KubeRestClient, loadKubeConfig } from '@vk-ts/core';
import { ControlPlane, REPO_ROOT } from '@vk-ts/testbed';
import { ApiserverMetrics } from './apiserver-metrics.ts';
import { badCounts } from './cli-counts.ts';
import { markdownReport, ratios, ratiosOverRounds } from './bench-report.ts';
import type { BenchContext, BenchSystem } from './bench-system.ts';
import { machineInfo, type MachineInfo } from './machine-info.ts';
import { ScenarioRunner, type ScenarioResult } from './scenario-runner.ts';
import { startKwok } from './system-kwok.ts';
import { startLimit } from './system-limit.ts';
import { startOurs, type OursOptions } from './system-ours.ts';
import { startUpstreamVk } from './system-upstream-vk.ts';

/** Every system --systems accepts: the peers, ours, and the limit's variants (never in the ratios). */
const SYSTEM_NAMES = ['limit', 'kwok', 'upstream-vk', 'ours', 'upstream-vk-default', 'limit-watch2', 'limit-get'] as const;

const program = new Command('npm run bench --')
  .description('Pod start and delete throughput, latency and cost: ours beside the API server\'s limit, kwok and upstream virtual-kubelet, '
    + 'each on a fresh control plane. Markdown tables on stdout, every figure in a JSON file under bench/results/.\n'
    + 'Also: `npm run bench -- node-agent-steady [--seconds 65]` and `npm run bench -- kubelet-api` (scripts/bench.sh).')
  .option('--quick', '1,000 pods, 1 and 2 workers, steady 50 pods/s for 10 s, no worker-scaling runs (under 5 minutes)', false)
  .option('--pods <list>', 'burst sizes, comma-separated (default: 1000,10000; --quick: 1000)')
  .option('--workers <list>', 'pod-worker processes of ours, one run each (default: 1,2,4; --quick: 1,2)')
  .option('--systems <list>', `systems in run order, comma-separated: ${SYSTEM_NAMES.join(', ')}. upstream-vk-default is upstream with its queue rate limiter; `
    + 'limit-watch2 and limit-get are the limit with a second watch or a GET per pod', 'limit,kwok,upstream-vk,ours')
  .option('--rates <list>', 'steady creation rates in pods/s (default: 20,50,100; --quick: 50)')
  .option('--steady-seconds <n>', 'how long each steady rate runs (default: 60; --quick: 10)')
  .option('--no-steady', 'skip the steady scenarios')
  .option('--concurrency <n>', 'parallelism of every system: pods worked at once per pod-worker, kwok\'s stage parallelism, upstream\'s sync workers', '16')
  .option('--in-flight <n>', 'requests the load generator and the limit writer keep in flight', '64')
  .addOption(new Option('--kwok-binary <path>', 'kwok binary (scripts/bench.sh builds it)').default('').env('VK_BENCH_KWOK'))
  .addOption(new Option('--kwok-stages <path>', 'kwok stages file').default('').env('VK_BENCH_KWOK_STAGES'))
  .addOption(new Option('--kwok-version <v>', 'kwok version, for the report').default('unknown').env('VK_BENCH_KWOK_VERSION'))
  .addOption(new Option('--upstream-vk-binary <path>', 'tools/upstream-vk binary (scripts/bench.sh builds it)').default('').env('VK_BENCH_UPSTREAM_VK'))
  .option('--out <file>', 'the JSON results file (default: bench/results/pod-bench-<time>.json)')
  .option('--cpu-prof-dir <dir>', 'V8 CPU profiles of our node-agent and pod-workers, written when they stop (read with bench/cpu-profile-summary.ts)')
  .option('--cp-profile-dir <dir>', 'Go CPU profiles of the control plane, the first --cp-profile-seconds of each scenario (go tool pprof -top FILE). '
    + 'Profiling costs the control plane CPU: compare profiled runs with each other only')
  .option('--cp-profile-seconds <n>', 'length of each control plane profile', '20')
  .option('--v8-flags <flags>', 'V8 flags for all our processes instead of each service\'s own (experiments)')
  .option('--worker-v8-flags <flags>', 'V8 flags for the pod-workers only (experiments)')
  .option('--agent-args <args>', 'more node-agent flags for ours (experiments)')
  .option('--no-bracket', 'do not measure the limit a second time after the other systems')
  .option('--rounds <n>', 'pass through every system this many times for the bursts and deletions (steady and worker-scaling runs once); '
    + 'each round\'s ours is compared with the peers of its own round, and a table gives the median ratio over the rounds with its range', '1')
  .option('--systems-nice <n>', 'run every system\'s processes (ours, Redis, the peers, the limit writer) at this nice level, below the control plane, '
    + 'as if it had CPUs of its own (experiments; default: 0, all equal)', '0')
  .option('--scale-latency-ms <ms>', 'worker scaling: a burst of --scale-pods with every provider call this slow, ours with each of --scale-workers '
    + '(default: 200; --quick: 0; 0 turns it off)')
  .option('--scale-pods <n>', 'pods in each worker-scaling burst', '2000')
  .option('--scale-workers <list>', 'pod-workers in the worker-scaling runs (default: --workers)')
  .option('--service-account-token', 'the pods mount their ServiceAccount\'s token (the kube-api-access volume), as a Deployment\'s pods do by default; '
    + 'without it they set automountServiceAccountToken: false and the scenarios measure the pod lifecycle alone', false)
  .option('--timeout-seconds <n>', 'how long one scenario may take before it is reported as failed', '600')
  .showHelpAfterError()
  .parse(process.argv);

const args = program.opts<{
  quick: boolean; pods?: string; workers?: string; systems: string; rates?: string; steadySeconds?: string; steady: boolean;
  concurrency: string; inFlight: string; kwokBinary: string; kwokStages: string; kwokVersion: string; upstreamVkBinary: string;
  out?: string; cpuProfDir?: string; cpProfileDir?: string; cpProfileSeconds: string; v8Flags?: string; workerV8Flags?: string;
  agentArgs?: string; bracket: boolean; rounds: string; systemsNice: string; scaleLatencyMs?: string; scalePods: string; scaleWorkers?: string; timeoutSeconds: string; serviceAccountToken: boolean;
}>();

const list = (s: string | undefined, fallback: number[]): number[] => (s ? s.split(',').map(Number) : fallback);
const quick = args.quick;
const options = {
  quick,
  pods: list(args.pods, quick ? [1000] : [1000, 10_000]),
  workers: list(args.workers, quick ? [1, 2] : [1, 2, 4]),
  systems: args.systems.split(','),
  rates: args.steady ? list(args.rates, quick ? [50] : [20, 50, 100]) : [],
  steadySeconds: Number(args.steadySeconds ?? (quick ? 10 : 60)),
  // --quick runs steady on the burst's control plane, after the delete, to stay under 5 minutes.
  steadyOnFreshControlPlane: !quick,
  podWorkerConcurrency: Number(args.concurrency),
  inFlight: Number(args.inFlight),
  timeoutMs: Number(args.timeoutSeconds) * 1000,
  // Worker scaling: with a zero-latency provider on 2 cores the API server is the bottleneck from one
  // worker on, so the curve is measured against a slow provider (each call this long) as well.
  scaleLatencyMs: Number(args.scaleLatencyMs ?? (quick ? 0 : 200)),
  scalePods: Number(args.scalePods),
  scaleWorkers: [] as number[],
  systemsNice: Number(args.systemsNice),
  rounds: Number(args.rounds),
  serviceAccountToken: args.serviceAccountToken,
};
options.scaleWorkers = list(args.scaleWorkers, options.workers);

// Every flag's value, checked at once: a typo fails the run here, naming each bad flag, not minutes later.
// Counts and durations must be whole and positive; only the provider latency may be 0 (off).
const unknownSystems = options.systems.filter((s) => !(SYSTEM_NAMES as readonly string[]).includes(s));
const badFlags = [
  ...badCounts({
    '--pods': options.pods, '--workers': options.workers, '--rates': options.rates, '--steady-seconds': [options.steadySeconds],
    '--concurrency': [options.podWorkerConcurrency], '--in-flight': [options.inFlight], '--timeout-seconds': [options.timeoutMs],
    '--scale-pods': [options.scalePods], '--scale-workers': options.scaleWorkers, '--cp-profile-seconds': [Number(args.cpProfileSeconds)],
    '--rounds': [options.rounds],
  }),
  ...(Number.isInteger(options.scaleLatencyMs) && options.scaleLatencyMs >= 0 ? [] : ['--scale-latency-ms: a whole number of ms, 0 turns it off']),
  ...(Number.isInteger(options.systemsNice) && options.systemsNice >= 0 && options.systemsNice <= 19 ? [] : ['--systems-nice: a whole number from 0 to 19']),
  ...(unknownSystems.length ? [`--systems: unknown ${unknownSystems.map((s) => `"${s}"`).join(', ')} (known: ${SYSTEM_NAMES.join(', ')})`] : []),
];
if (badFlags.length) {
  process.stderr.write(`pod-bench: bad flags (see --help):\n${badFlags.map((b) => `  ${b}\n`).join('')}`);
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
  const rs = ratios(results);
  writeFileSync(outFile, `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine, options, systems: systemsSeen, notes, results, ratios: rs, ratiosOverRounds: ratiosOverRounds(rs) }, null, 2)}\n`);
}

type Starter = (ctx: BenchContext) => Promise<BenchSystem>;

/**
 * What a SIGINT or SIGTERM must stop: the control plane and system of the
 * scenario group under way (a control plane left behind holds 1–2 GB and
 * takes CPU from whatever runs next). The results so far are kept.
 */
let running: { cp: ControlPlane; client: KubeRestClient; system?: BenchSystem } | undefined;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    // The scenario under way fails as its system goes away under it: expected now, not a crash to report.
    process.on('uncaughtException', () => {});
    process.on('unhandledRejection', () => {});
    say(`${signal}: stopping the system and control plane under test; results so far in ${outFile} (send it again to leave at once)`);
    const current = running;
    void (async () => {
      try {
        await current?.system?.close();
        current?.client.close();
        await current?.cp.close();
      } finally {
        save();
        process.exit(130);
      }
    })();
  });
}

const words = (v: string): string[] => v.split(' ').filter(Boolean);

/** The experiment flags (--v8-flags, --worker-v8-flags, --agent-args, --cpu-prof-dir) as options for one run of ours; `id` names its profile folder. */
function oursExperiments(id: string): Partial<OursOptions> {
  return {
    ...(args.v8Flags !== undefined ? { v8Flags: words(args.v8Flags) } : {}),
    ...(args.workerV8Flags !== undefined ? { workerV8Flags: words(args.workerV8Flags) } : {}),
    ...(args.agentArgs ? { agentArgs: words(args.agentArgs) } : {}),
    ...(args.cpuProfDir ? { cpuProfileDir: join(args.cpuProfDir, id) } : {}),
  };
}

function starters(): { id: string; start: Starter }[] {
  const out: { id: string; start: Starter }[] = [];
  for (const s of options.systems) {
    if (s === 'limit') out.push({ id: 'limit', start: (ctx) => startLimit(ctx, { nodeName: 'bench-limit', concurrency: options.inFlight }) });
    else if (s === 'limit-watch2' || s === 'limit-get') out.push({ id: s, start: (ctx) => startLimit(ctx, { nodeName: 'bench-limit', concurrency: options.inFlight, variant: s }) });
    else if (s === 'kwok') {
      if (!args.kwokBinary || !existsSync(args.kwokBinary)) notes.push('kwok: no binary (scripts/lib/toolchain.sh ensure_kwok did not build it); not measured');
      else out.push({ id: 'kwok', start: (ctx) => startKwok(ctx, { binary: args.kwokBinary, stagesFile: args.kwokStages, version: args.kwokVersion, nodeName: 'bench-kwok', parallelism: options.podWorkerConcurrency }) });
    } else if (s === 'upstream-vk' || s === 'upstream-vk-default') {
      // upstream-vk-default keeps upstream's queue rate limiter.
      if (!args.upstreamVkBinary || !existsSync(args.upstreamVkBinary)) notes.push('upstream virtual-kubelet: no binary (tools/upstream-vk did not build); not measured');
      else out.push({ id: s, start: (ctx) => startUpstreamVk(ctx, { binary: args.upstreamVkBinary, nodeName: 'bench-vk', podSyncWorkers: options.podWorkerConcurrency, queueRateLimit: s === 'upstream-vk-default' }) });
    } else if (s === 'ours') {
      for (const w of options.workers) out.push({ id: `ours-${w}`, start: (ctx) => startOurs(ctx, { ...oursExperiments(`ours-${w}`), workers: w, concurrency: options.podWorkerConcurrency, nodeName: 'bench-ours' }) });
    }
  }
  // The machine's speed drifts (a shared VM: the same work has cost a fifth more CPU seconds from one
  // quarter-hour to the next), so the limit is measured again after the others, and ratios to the limit
  // use the mean of both measurements and show the range they span (bench-report.ts).
  if (options.systems.includes('limit') && out.length > 1 && args.bracket) {
    out.push({ id: 'limit-again', start: (ctx) => startLimit(ctx, { nodeName: 'bench-limit', concurrency: options.inFlight, label: 'limit (again)' }) });
  }
  return out;
}

/**
 * Sets every thread of these processes to a nice level (Linux's nice is per
 * thread; threads created later inherit it from the thread that creates them).
 */
function reniceAll(pids: number[], nice: number): void {
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) setPriority(Number(tid), nice);
  }
}

/** A fresh control plane and system; `body` runs scenarios on them; everything is stopped after. */
async function withFreshSystem(id: string, group: string, start: Starter, body: (runner: ScenarioRunner) => Promise<void>): Promise<void> {
  const logDir = join(logRoot, `${group}-${id}`);
  mkdirSync(logDir, { recursive: true });
  const cp = await ControlPlane.start({ dataDir: join(logDir, 'controlplane'), pprof: Boolean(args.cpProfileDir) });
  const kubeConfig = loadKubeConfig({ kubeconfigPath: cp.kubeconfigPath });
  const client = await KubeRestClient.create({ kubeConfig, qps: 0, burst: 0, userAgent: 'vk-pod-bench', requestTimeoutMs: 120_000 });
  running = { cp, client };
  let system: BenchSystem | undefined;
  try {
    machine ??= await machineInfo(client);
    system = await start({ controlPlane: cp, client, logDir });
    running.system = system;
    if (options.systemsNice > 0) reniceAll(system.processes.map((p) => p.pid), options.systemsNice);
    const given = options.systemsNice > 0 ? `${system.given}; every process at nice ${options.systemsNice}, below the control plane` : system.given;
    // One entry per label and setting: every round and the steady runs start each system again, and the
    // worker-scaling runs reuse ours' labels with a slow provider (another setting).
    if (!systemsSeen.some((s) => s.label === system!.label && s.given === given)) systemsSeen.push({ label: system.label, kind: system.kind, given, version: system.version });
    const profileDir = args.cpProfileDir;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const runner = new ScenarioRunner({
      client, metrics: await ApiserverMetrics.create(kubeConfig), system, controlPlanePid: cp.pid ?? -1, inFlight: options.inFlight, timeoutMs: options.timeoutMs,
      serviceAccountToken: options.serviceAccountToken,
      ...(profileDir && cp.pprofUrl ? { controlPlaneProfile: { pprofUrl: cp.pprofUrl, seconds: Number(args.cpProfileSeconds), dir: profileDir, prefix: `${group}-${id}` } } : {}),
    });
    await body(runner);
  } catch (err) {
    const msg = `${id} (${group}): ${(err as Error).message}`;
    notes.push(msg);
    say(`failed: ${msg}`);
  } finally {
    running = undefined;
    await system?.close();
    client.close();
    await cp.close();
    save();
  }
}

function record(r: ScenarioResult): void {
  results.push(r);
  say(`${r.scenario} ${r.ratePerSecond ? `${r.ratePerSecond}/s` : r.pods}${r.round !== undefined ? ` (round ${r.round})` : ''} ${r.system}: ${r.error ? `FAILED ${r.error}` : `${r.durationSeconds} s, ${r.podsPerSecond} pods/s, writes/pod ${r.apiWritesPerPod}`}`);
  save();
}

const systems = starters();
say(`pod bench ${quick ? '(quick) ' : ''}logs in ${logRoot}, results to ${outFile}`);
for (const pods of options.pods) {
  for (let round = 1; round <= options.rounds; round++) {
    // A single round leaves its rows unnumbered, as every run did before --rounds.
    const multiRound = options.rounds > 1;
    const roundOf = multiRound ? { round } : {};
    const group = multiRound ? `burst-${pods}-round-${round}` : `burst-${pods}`;
    for (const { id, start } of systems) {
      say(`burst+delete ${pods}${multiRound ? ` (round ${round} of ${options.rounds})` : ''}: ${id}`);
      await withFreshSystem(id, group, start, async (runner) => {
        for (const r of await runner.burstAndDelete(pods)) record({ ...r, ...roundOf });
        if (!options.steadyOnFreshControlPlane && pods === options.pods[0] && round === 1) {
          for (const rate of options.rates) record(await runner.steady(rate, options.steadySeconds));
        }
      });
    }
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
process.stdout.write(`\n## Pod benchmark${quick ? ' (--quick)' : ''}${options.serviceAccountToken ? ' (pods mount their ServiceAccount token)' : ''}: ${machine?.cores} cores, ${machine?.memoryGiB} GiB, ${machine?.kubernetes}, Node ${machine?.node}\n\n`);
process.stdout.write(`${markdownReport(results, systemsSeen)}\n`);
if (notes.length) process.stdout.write(`\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
process.stdout.write(`\nJSON: ${outFile}\nlogs: ${logRoot}\n`);
