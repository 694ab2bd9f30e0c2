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

const ratio = (a: number, b: number): number => (b > 0 && Number.isFinite(a) ? Math.round((a / b) * 100) / 100 : NaN);

export function ratios(results: ScenarioResult[]): Ratio[] {
  const out: Ratio[] = [];
  for (const ours of results.filter((r) => r.kind === 'ours' && !r.error)) {
    for (const peerKind of PEERS) {
      const peers = results.filter((r) => r.kind === peerKind && !r.error && scenarioKey(r) === scenarioKey(ours));
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
      });
    }
  }
  return out;
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
  lines.push('| scenario | system | time s | pods/s | p50 ms | p95 ms | p99 ms | API writes/pod | reads/pod | API requests per pod by verb | Redis cmds/pod | CPU s / peak RSS per process | control plane CPU s |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const lat = r.scenario === 'delete' ? r.goneLatencyMs : r.latencyMs;
    lines.push(`| ${scenarioKey(r)} | ${r.system} | ${r.error ? `FAILED: ${r.error.slice(0, 80)}` : fmt(r.durationSeconds, 1)} | ${fmt(r.podsPerSecond, 0)} | ${fmt(lat?.p50)} | ${fmt(lat?.p95)} | ${fmt(lat?.p99)} | ${fmt(r.apiWritesPerPod, 2)} | ${fmt(r.apiReadsPerPod, 2)} | ${topVerbs(r)} | ${fmt(r.redisCommandsPerPod, 1)} | ${processes(r)} | ${fmt(r.controlPlane.cpuSeconds, 1)} |`);
  }
  lines.push('', 'Latency: burst/steady = create call returned → pod seen Running by a watch; delete = delete call sent → pod seen gone. Delete time ends when the pods are gone from the API server and from the provider (ours: the mock backend).');
  const rs = ratios(results);
  if (rs.length) {
    lines.push('', '| scenario | ours | vs | throughput ratio (ours/peer, >1 better) | p99 ratio (ours/peer, <1 better) | API writes/pod ratio |', '|---|---|---|---|---|---|');
    for (const r of rs) {
      const range = r.throughputRange ? ` (${fmt(r.throughputRange[0], 2)}–${fmt(r.throughputRange[1], 2)})` : '';
      lines.push(`| ${r.scenario} | ${r.ours} | ${r.peer} | ${fmt(r.throughput, 2)}${range} | ${fmt(r.p99, 2)} | ${fmt(r.writesPerPod, 2)} |`);
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
  // One row per label and setting: the worker-scaling runs reuse ours' labels with a slow provider.
  const seen = new Set<string>();
  for (const s of systems) {
    const key = `${s.label}\n${s.given}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(`| ${s.label} | ${s.given} | ${s.version} |`);
  }
  return lines.join('\n');
}
