import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeRestClient } from '@vk-ts/core';
import { ApiserverMetrics, diffCounts, type RequestCounts } from './apiserver-metrics.ts';
import type { BenchSystem } from './bench-system.ts';
import { PodLoad, type DriverRequests } from './pod-load.ts';
import { ProcessStats, machineUsage, sampleMachine, type MachineUsage, type ProcessUsage } from './process-stats.ts';
import { RedisCommandStats, diffRedisCounts } from './redis-command-stats.ts';
import { RunningWatch, type PodObservation } from './running-watch.ts';

export type ScenarioKind = 'burst' | 'delete' | 'steady';

export interface Percentiles { p50: number; p95: number; p99: number; max: number }

/** Every figure of one scenario run by one system. */
export interface ScenarioResult {
  scenario: ScenarioKind;
  system: string;
  kind: BenchSystem['kind'];
  workers?: number;
  pods: number;
  /** steady only: the offered rate. */
  ratePerSecond?: number;
  /** Worker-scaling runs only: every provider call took this long (mock backend callLatencyMs). */
  providerCallLatencyMs?: number;
  /** burst: first create sent → last pod seen Running; delete: first delete sent → last pod gone (API and provider); steady: first create → last Running. */
  durationSeconds: number;
  podsPerSecond: number;
  /** Create call returned → pod seen Running by the bench's watch, ms. Undefined for delete. */
  latencyMs?: Percentiles;
  /** metadata.creationTimestamp (whole seconds, so up to 1 s early) → seen Running, ms. */
  latencyFromCreationTimestampMs?: Percentiles;
  /** delete: delete call sent → seen gone, ms. */
  goneLatencyMs?: Percentiles;
  /** The API server's apiserver_request_total delta, the load generator's own requests taken out. */
  apiRequests: RequestCounts;
  apiWritesPerPod: number;
  apiReadsPerPod: number;
  apiWatchesPerPod: number;
  /** "VERB resource" → requests per pod (the system's, the driver's taken out). */
  apiPerPodByVerb: Record<string, number>;
  driverRequests: DriverRequests;
  redisCommandsPerPod?: number;
  redisByCommandPerPod?: Record<string, number>;
  processes: ProcessUsage[];
  controlPlane: ProcessUsage;
  /** The bench's own process over the same window (the load: creates or deletes, and its watch of the pods). */
  driver?: ProcessUsage;
  /** The whole machine over the scenario (from its first request to its last pod; the settle after it left out). */
  machine?: MachineUsage;
  /** Seconds waited after the end for the API server's write counters to settle (not in durationSeconds). */
  settleSeconds: number;
  /** /proc/loadavg when the scenario started: other work on a shared machine shows here. */
  loadAverageAtStart: string;
  /** Times the server closed the bench's own watch during the scenario (it resumes from the last resourceVersion). */
  benchWatchRestarts?: number;
  /** With --rounds above 1: which round of the burst and delete scenarios (1-based); ratios compare rows of one round. */
  round?: number;
  error?: string;
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION', 'APPLY']);
const READ_VERBS = new Set(['GET', 'LIST']);

export interface ScenarioRunnerOptions {
  client: KubeRestClient;
  metrics: ApiserverMetrics;
  system: BenchSystem;
  controlPlanePid: number;
  /** Create/delete requests the load generator keeps in flight. */
  inFlight: number;
  /** The pods mount their ServiceAccount's token (see benchPod). */
  serviceAccountToken?: boolean;
  timeoutMs: number;
  /** Take a Go CPU profile of the control plane during each scenario (its first `seconds`), into `dir`. */
  controlPlaneProfile?: { pprofUrl: string; seconds: number; dir: string; prefix: string };
}

/** Runs the scenarios of one system on one control plane and collects the figures. */
export class ScenarioRunner {
  readonly #o: ScenarioRunnerOptions;

  constructor(options: ScenarioRunnerOptions) {
    this.#o = options;
  }

  /** burst: N pre-bound pods as fast as the client goes, until all are seen Running; then (unless `burstOnly`) delete: all of them, until gone. */
  async burstAndDelete(pods: number, burstOnly = false): Promise<ScenarioResult[]> {
    const namespace = `burst-${pods}`;
    await this.#namespace(namespace);
    const watch = new RunningWatch(this.#o.client, { namespace, nodeName: this.#o.system.nodeName });
    await watch.start();
    const names = Array.from({ length: pods }, (_, i) => `p-${i}`);
    try {
      const load = new PodLoad(this.#o.client, { namespace, nodeName: this.#o.system.nodeName, inFlight: this.#o.inFlight, serviceAccountToken: this.#o.serviceAccountToken });
      const burst = await this.#measure('burst', pods, load, async () => {
        const t0 = Date.now();
        await load.createAll(names, (n, at) => watch.created(n, at));
        await watch.until(`${pods} pods Running`, () => watch.runningCount >= pods, this.#o.timeoutMs);
        return { durationMs: lastOf(watch.pods, 'runningAtMs') - t0 };
      });
      Object.assign(burst, latencies([...watch.pods.values()]), { benchWatchRestarts: watch.restarts });
      const results = [burst];
      if (burst.error || burstOnly) return results;
      const deleteSentAt = new Map<string, number>();
      const del = await this.#measure('delete', pods, load, async () => {
        const t0 = Date.now();
        await load.deleteAll(names, (n, at) => deleteSentAt.set(n, at));
        await watch.until(`${pods} pods gone`, () => watch.deletedCount >= pods, this.#o.timeoutMs);
        const apiGoneAt = lastOf(watch.pods, 'deletedAtMs');
        let providerGoneAt = apiGoneAt;
        if (this.#o.system.providerPodCount) {
          const deadline = Date.now() + this.#o.timeoutMs;
          while ((await this.#o.system.providerPodCount()) > 0) {
            if (Date.now() > deadline) throw new Error('provider still holds pods after the timeout');
            await new Promise((r) => setTimeout(r, 100));
          }
          providerGoneAt = Math.max(apiGoneAt, Date.now());
        }
        return { durationMs: providerGoneAt - t0 };
      });
      del.goneLatencyMs = percentiles(names.flatMap((n) => {
        const gone = watch.pods.get(n)?.deletedAtMs;
        const sent = deleteSentAt.get(n);
        return gone !== undefined && sent !== undefined ? [Math.max(0, gone - sent)] : [];
      }));
      results.push(del);
      return results;
    } finally {
      await watch.close();
    }
  }

  /** steady: `rate` pods a second for `seconds` into a fresh namespace; until all are seen Running. */
  async steady(rate: number, seconds: number): Promise<ScenarioResult> {
    const namespace = `steady-${rate}`;
    await this.#namespace(namespace);
    const watch = new RunningWatch(this.#o.client, { namespace, nodeName: this.#o.system.nodeName });
    await watch.start();
    try {
      const load = new PodLoad(this.#o.client, { namespace, nodeName: this.#o.system.nodeName, inFlight: this.#o.inFlight, serviceAccountToken: this.#o.serviceAccountToken });
      const pods = Math.round(rate * seconds);
      const result = await this.#measure('steady', pods, load, async () => {
        const t0 = Date.now();
        await load.createAtRate('s', rate, seconds, (n, at) => watch.created(n, at));
        await watch.until(`${pods} pods Running`, () => watch.runningCount >= pods, this.#o.timeoutMs);
        return { durationMs: lastOf(watch.pods, 'runningAtMs') - t0 };
      });
      result.ratePerSecond = rate;
      Object.assign(result, latencies([...watch.pods.values()]));
      return result;
    } finally {
      await watch.close();
    }
  }

  async #namespace(name: string): Promise<void> {
    await this.#o.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const deadline = Date.now() + 60_000;
    // Pods are refused until the namespace's default ServiceAccount exists.
    for (;;) {
      try {
        await this.#o.client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async #measure(scenario: ScenarioKind, pods: number, load: PodLoad, body: () => Promise<{ durationMs: number }>): Promise<ScenarioResult> {
    const { system, metrics } = this.#o;
    const procs = new ProcessStats(system.processes);
    const cp = new ProcessStats([{ name: 'controlplane', pid: this.#o.controlPlanePid }]);
    const driverProc = new ProcessStats([{ name: 'bench driver', pid: process.pid }]);
    const redis = system.redisUrl ? new RedisCommandStats(system.redisUrl) : undefined;
    const sentBefore = { ...load.sent };
    const loadAverageAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const apiBefore = await metrics.requestCounts();
    const redisBefore = await redis?.read();
    procs.begin();
    cp.begin();
    driverProc.begin();
    const machineBefore = sampleMachine();
    const profile = this.#profileControlPlane(`${scenario}-${pods}`);
    let durationMs = NaN;
    let error: string | undefined;
    try {
      ({ durationMs } = await body());
    } catch (err) {
      error = (err as Error).message;
    }
    await profile;
    // The machine is read over the scenario itself: the settle after it is mostly idle.
    const machine = machineUsage(machineBefore, sampleMachine());
    const settleStart = Date.now();
    const apiAfter = await this.#settle(apiBefore);
    const settleSeconds = (Date.now() - settleStart) / 1000;
    const redisAfter = await redis?.read();
    redis?.close();
    const driver: DriverRequests = {};
    for (const [k, v] of Object.entries(load.sent)) if (v - (sentBefore[k] ?? 0) > 0) driver[k] = v - (sentBefore[k] ?? 0);
    // The bench's own watch: one LIST at start is outside this window; nothing else to take out.
    const api = diffCounts(apiBefore, apiAfter);
    const own: RequestCounts = {};
    for (const [k, v] of Object.entries(api)) {
      if (k.includes('(non-resource)')) continue;
      const rest = v - (driver[k] ?? 0);
      if (rest > 0) own[k] = rest;
    }
    const sum = (verbs: Set<string>): number => Object.entries(own).filter(([k]) => verbs.has(k.split(' ')[0]!)).reduce((s, [, v]) => s + v, 0);
    const perPod = (n: number): number => round(n / pods, 3);
    const redisDelta = redisBefore && redisAfter ? diffRedisCounts(redisBefore, redisAfter) : undefined;
    return {
      scenario,
      system: system.label,
      kind: system.kind,
      ...(system.workers !== undefined ? { workers: system.workers } : {}),
      ...(system.providerCallLatencyMs ? { providerCallLatencyMs: system.providerCallLatencyMs } : {}),
      pods,
      durationSeconds: round(durationMs / 1000, 2),
      podsPerSecond: round(pods / (durationMs / 1000), 1),
      apiRequests: own,
      apiWritesPerPod: perPod(sum(WRITE_VERBS)),
      apiReadsPerPod: perPod(sum(READ_VERBS)),
      apiWatchesPerPod: perPod(sum(new Set(['WATCH']))),
      apiPerPodByVerb: Object.fromEntries(Object.entries(own).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, perPod(v)])),
      driverRequests: driver,
      ...(redisDelta ? {
        redisCommandsPerPod: perPod(redisDelta.total),
        redisByCommandPerPod: Object.fromEntries(Object.entries(redisDelta.byCommand).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, perPod(v)])),
      } : {}),
      processes: procs.end(),
      controlPlane: cp.end()[0]!,
      driver: driverProc.end()[0]!,
      machine,
      settleSeconds: round(settleSeconds, 1),
      loadAverageAtStart,
      ...(error ? { error } : {}),
    };
  }

  /** Fetches a CPU profile of the first `seconds` of a scenario and writes it as <dir>/<prefix>-<name>.pprof; never throws. */
  async #profileControlPlane(name: string): Promise<void> {
    const p = this.#o.controlPlaneProfile;
    if (!p) return;
    try {
      const res = await fetch(`${p.pprofUrl}/debug/pprof/profile?seconds=${p.seconds}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      writeFileSync(join(p.dir, `${p.prefix}-${name}.pprof`), Buffer.from(await res.arrayBuffer()));
    } catch (err) {
      process.stderr.write(`${JSON.stringify({ msg: 'control plane profile failed', name, err: (err as Error).message })}\n`);
    }
  }

  /**
   * Waits until the API server's write counters stop moving (a system may
   * still write after the last pod looks done), at most 20 s; returns the
   * last counts.
   */
  async #settle(before: RequestCounts): Promise<RequestCounts> {
    const writes = (c: RequestCounts): number => Object.entries(diffCounts(before, c))
      .filter(([k]) => WRITE_VERBS.has(k.split(' ')[0]!) && !k.includes('leases')).reduce((s, [, v]) => s + v, 0);
    let last = await this.#o.metrics.requestCounts();
    const deadline = Date.now() + 20_000;
    let quiet = 0;
    while (Date.now() < deadline && quiet < 2) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await this.#o.metrics.requestCounts();
      quiet = writes(now) - writes(last) <= 2 ? quiet + 1 : 0;
      last = now;
    }
    return last;
  }
}

function lastOf(pods: Map<string, PodObservation>, key: 'runningAtMs' | 'deletedAtMs'): number {
  let max = 0;
  for (const o of pods.values()) max = Math.max(max, o[key] ?? 0);
  return max;
}

function latencies(obs: PodObservation[]): Pick<ScenarioResult, 'latencyMs' | 'latencyFromCreationTimestampMs'> {
  const fromCreate = obs.flatMap((o) => (o.runningAtMs !== undefined && o.createdAtMs !== undefined ? [Math.max(0, o.runningAtMs - o.createdAtMs)] : []));
  const fromTs = obs.flatMap((o) => (o.runningAtMs !== undefined && o.creationTimestampMs !== undefined ? [o.runningAtMs - o.creationTimestampMs] : []));
  return { latencyMs: percentiles(fromCreate), latencyFromCreationTimestampMs: percentiles(fromTs) };
}

export function percentiles(values: number[]): Percentiles {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number): number => (v.length ? v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)]! : NaN);
  return { p50: Math.round(at(0.5)), p95: Math.round(at(0.95)), p99: Math.round(at(0.99)), max: Math.round(v[v.length - 1] ?? NaN) };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
