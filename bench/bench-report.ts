import type { ScenarioResult } from './scenario-runner.ts';

/** One comparison of one of our rows with a peer's row of the same scenario. */
export interface Ratio {
  scenario: string;
  ours: string;
  peer: string;
  /** ours pods/s ÷ peer pods/s (> 1: ours is faster). */
  throughput: number;
  /** ours p99 ÷ peer p99, creation → Running (< 1: ours is quicker); delete: time to gone. */
  p99: number;
  /** ours API writes per pod ÷ the peer's. */
  writesPerPod: number;
  /** When the peer was measured more than once (the limit, before and after the others): the throughput ratio against each measurement, lowest first. */
  throughputRange?: [number, number];
  /** The peer's kind (limit, kwok, upstream-vk, upstream-vk-default), whatever its row's label. */
  peerKind: string;
  /** With --rounds: the round both rows belong to. */
  round?: number;
  /**
   * The peer's CPU per pod ÷ ours (`cpuMsPerPod`): the throughput ratio that
   * a machine whose every core is busy would give. Close to `throughput`,
   * the gap is CPU; far from it, something else (waiting, a limiter). Not
   * for steady rows, whose throughput is the offered rate.
   */
  cpuPredicted?: number;
}

/** One comparison over every round of a multi-round run: the median of the rounds' throughput ratios and their range. */
export interface RoundsRatio {
  scenario: string;
  ours: string;
  peer: string;
  rounds: number;
  /** The median of the rounds' throughput ratios (of an even count: the mean of the middle two). */
  throughputMedian: number;
  /** The lowest and highest of the rounds' throughput ratios. */
  throughputRange: [number, number];
  /** Each round's throughput ratio, in round order. */
  perRound: number[];
  /** The median of the rounds' `cpuPredicted`. */
  cpuPredictedMedian?: number;
}

const PEERS = ['limit', 'kwok', 'upstream-vk', 'upstream-vk-default'] as const;

/** Rows compare only within one key; a worker-scaling row (slow provider) has a key no peer shares. */
function scenarioKey(r: ScenarioResult): string {
  const base = r.scenario === 'steady' ? `steady ${r.ratePerSecond}/s` : `${r.scenario} ${r.pods}`;
  return r.providerCallLatencyMs ? `${base}, provider calls ${r.providerCallLatencyMs} ms` : base;
}

function p99Of(r: ScenarioResult): number {
  return (r.scenario === 'delete' ? r.goneLatencyMs?.p99 : r.latencyMs?.p99) ?? NaN;
}

/**
 * CPU per pod, ms, of the control plane and the system's own processes
 * (the bench driver's left out: every system gets the same load). On a
 * machine with every core busy, throughput is the inverse of it.
 */
export function cpuMsPerPod(r: ScenarioResult): number {
  return (1000 * (r.controlPlane.cpuSeconds + r.processes.reduce((sum, p) => sum + p.cpuSeconds, 0))) / r.pods;
}

const ratio = (a: number, b: number): number => (b > 0 && Number.isFinite(a) ? Math.round((a / b) * 100) / 100 : NaN);

export function ratios(results: ScenarioResult[]): Ratio[] {
  const out: Ratio[] = [];
  for (const ours of results.filter((r) => r.kind === 'ours' && !r.error)) {
    for (const peerKind of PEERS) {
      // Only the peer's rows of the same round: a round is one pass through every system, so the limit
      // measured before and after ours brackets the stretch of machine time that ours ran in.
      const peers = results.filter((r) => r.kind === peerKind && !r.error && scenarioKey(r) === scenarioKey(ours) && r.round === ours.round);
      if (peers.length === 0) continue;
      const mean = (f: (r: ScenarioResult) => number): number => peers.reduce((sum, r) => sum + f(r), 0) / peers.length;
      const each = peers.map((p) => ratio(ours.podsPerSecond, p.podsPerSecond)).sort((a, b) => a - b);
      out.push({
        scenario: scenarioKey(ours),
        ours: ours.system,
        peer: peers.length > 1 ? `${peerKind} (mean of ${peers.length})` : peers[0]!.system,
        throughput: ratio(ours.podsPerSecond, mean((r) => r.podsPerSecond)),
        p99: ratio(p99Of(ours), mean(p99Of)),
        writesPerPod: ratio(ours.apiWritesPerPod, mean((r) => r.apiWritesPerPod)),
        ...(peers.length > 1 ? { throughputRange: [each[0]!, each[each.length - 1]!] as [number, number] } : {}),
        peerKind,
        ...(ours.round !== undefined ? { round: ours.round } : {}),
        ...(ours.scenario !== 'steady' ? { cpuPredicted: ratio(mean(cpuMsPerPod), cpuMsPerPod(ours)) } : {}),
      });
    }
  }
  return out;
}

/**
 * The ratios of a multi-round run (--rounds) summed up per scenario, system
 * of ours and peer: one run of a burst moves by a fifth on a shared machine,
 * so a verdict rests on the median of several rounds, with their range. Empty
 * when no comparison was made in more than one round.
 */
export function ratiosOverRounds(rs: Ratio[]): RoundsRatio[] {
  const groups = new Map<string, Ratio[]>();
  for (const r of rs) {
    if (r.round === undefined || Number.isNaN(r.throughput)) continue;
    const key = `${r.scenario}\n${r.ours}\n${r.peerKind}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => {
    const perRound = [...g].sort((a, b) => a.round! - b.round!).map((r) => r.throughput);
    const predicted = g.flatMap((r) => (r.cpuPredicted === undefined || Number.isNaN(r.cpuPredicted) ? [] : [r.cpuPredicted]));
    return {
      scenario: g[0]!.scenario, ours: g[0]!.ours, peer: g[0]!.peerKind, rounds: g.length,
      throughputMedian: median(perRound), throughputRange: [Math.min(...perRound), Math.max(...perRound)], perRound,
      ...(predicted.length ? { cpuPredictedMedian: median(predicted) } : {}),
    };
  });
}

/** The median (of an even count: the mean of the middle two), to two decimals. */
function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const m = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Math.round(m * 100) / 100;
}

const fmt = (n: number | undefined, digits = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

function topVerbs(r: ScenarioResult): string {
  return Object.entries(r.apiPerPodByVerb).filter(([, v]) => v >= 0.05).slice(0, 5).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('; ') || '–';
}

function processes(r: ScenarioResult): string {
  return r.processes.map((p) => `${p.name} ${p.cpuSeconds.toFixed(1)} s/${p.peakRssMb.toFixed(0)} MB`).join('; ');
}

/** The Markdown the bench prints: figures, ratios, and what each system was given. */
export function markdownReport(results: ScenarioResult[], systems: { label: string; given: string; version: string }[]): string {
  const lines: string[] = [];
  lines.push('| scenario | system | time s | pods/s | p50 ms | p95 ms | p99 ms | API writes/pod | reads/pod | API requests per pod by verb | Redis cmds/pod | CPU s / peak RSS per process | control plane CPU s | CPU ms/pod: control plane + system | machine: busy cores (steal %) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const lat = r.scenario === 'delete' ? r.goneLatencyMs : r.latencyMs;
    lines.push(`| ${scenarioKey(r)}${r.round !== undefined ? ` (round ${r.round})` : ''} | ${r.system} | ${r.error ? `FAILED: ${r.error.slice(0, 80)}` : fmt(r.durationSeconds, 1)} | ${fmt(r.podsPerSecond, 0)} | ${fmt(lat?.p50)} | ${fmt(lat?.p95)} | ${fmt(lat?.p99)} | ${fmt(r.apiWritesPerPod, 2)} | ${fmt(r.apiReadsPerPod, 2)} | ${topVerbs(r)} | ${fmt(r.redisCommandsPerPod, 1)} | ${processes(r)} | ${fmt(r.controlPlane.cpuSeconds, 1)} | ${fmt(cpuMsPerPod(r), 2)} | ${r.machine ? `${fmt(r.machine.busyCores, 2)} (${fmt(r.machine.stealPercent, 1)})` : '–'}${r.driver ? `; bench driver ${fmt(r.driver.cpuSeconds, 1)} s` : ''} |`);
  }
  lines.push('', 'Latency: burst/steady = create call returned → pod seen Running by a watch; delete = delete call sent → pod seen gone. Delete time ends when the pods are gone from the API server and from the provider (ours: the mock backend).');
  lines.push('CPU ms/pod: the control plane\'s and the system\'s own processes\' CPU over the scenario, per pod (the bench driver, the same load for every system, left out). Busy cores: the whole machine over the scenario, every process and the kernel, from /proc/stat; steal is CPU time the hypervisor gave elsewhere; the bench driver is this process (creates or deletes, and its watch).');
  const rs = ratios(results);
  if (rs.length) {
    lines.push('', '| scenario | ours | vs | throughput ratio (ours/peer, >1 better) | predicted by CPU per pod (peer/ours) | p99 ratio (ours/peer, <1 better) | API writes/pod ratio |', '|---|---|---|---|---|---|---|');
    for (const r of rs) {
      const range = r.throughputRange ? ` (${fmt(r.throughputRange[0], 2)}–${fmt(r.throughputRange[1], 2)})` : '';
      lines.push(`| ${r.scenario}${r.round !== undefined ? ` (round ${r.round})` : ''} | ${r.ours} | ${r.peer} | ${fmt(r.throughput, 2)}${range} | ${fmt(r.cpuPredicted, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.writesPerPod, 2)} |`);
    }
  }
  const overRounds = ratiosOverRounds(rs);
  if (overRounds.length) {
    lines.push('', '| scenario | ours | vs | rounds | throughput ratio: median (range) | each round | predicted by CPU per pod: median |', '|---|---|---|---|---|---|---|');
    for (const r of overRounds) {
      lines.push(`| ${r.scenario} | ${r.ours} | ${r.peer} | ${r.rounds} | ${fmt(r.throughputMedian, 2)} (${fmt(r.throughputRange[0], 2)}–${fmt(r.throughputRange[1], 2)}) | ${r.perRound.map((x) => fmt(x, 2)).join(', ')} | ${fmt(r.cpuPredictedMedian, 2)} |`);
    }
  }
  const scaling = results.filter((r) => r.providerCallLatencyMs && !r.error);
  if (scaling.length) {
    lines.push('', '| worker scaling | pod-workers | pods/s | p99 ms | CPU s: workers / control plane |', '|---|---|---|---|---|');
    for (const r of scaling) {
      const workersCpu = r.processes.filter((p) => p.name.startsWith('pod-worker')).reduce((sum, p) => sum + p.cpuSeconds, 0);
      lines.push(`| ${scenarioKey(r)} | ${r.workers ?? '–'} | ${fmt(r.podsPerSecond, 0)} | ${fmt(r.latencyMs?.p99)} | ${fmt(workersCpu, 1)} / ${fmt(r.controlPlane.cpuSeconds, 1)} |`);
    }
  }
  lines.push('', '| system | given | version |', '|---|---|---|');
  // `systems` has one entry per label and setting (pod-bench.ts records each once, however often it starts it).
  for (const s of systems) lines.push(`| ${s.label} | ${s.given} | ${s.version} |`);
  return lines.join('\n');
}
