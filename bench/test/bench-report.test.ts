import assert from 'node:assert/strict';
import { markdownReport, ratios } from '../bench-report.ts';
import type { ScenarioResult } from '../scenario-runner.ts';

/** A result with only what the report reads; the rest zero. */
function row(system: string, kind: ScenarioResult['kind'], podsPerSecond: number, extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    scenario: 'burst', system, kind, pods: 1000, durationSeconds: 1000 / podsPerSecond, podsPerSecond,
    latencyMs: { p50: 1, p95: 2, p99: 4, max: 5 }, apiRequests: {}, apiWritesPerPod: 1, apiReadsPerPod: 0, apiWatchesPerPod: 0,
    apiPerPodByVerb: {}, driverRequests: {}, processes: [{ name: 'pod-worker-1', pid: 1, cpuSeconds: 2, peakRssMb: 100 }],
    controlPlane: { name: 'controlplane', pid: 2, cpuSeconds: 10, peakRssMb: 900 }, settleSeconds: 0, loadAverageAtStart: '0 0 0',
    ...extra,
  };
}

describe('bench report', () => {
  it('compares ours with the mean of the limit measured twice and shows the ratio against each run', () => {
    const [r] = ratios([row('limit', 'limit', 200), row('ours ×1', 'ours', 150), row('limit (again)', 'limit', 100)]);
    assert.equal(r?.peer, 'limit (mean of 2)');
    assert.equal(r?.throughput, 1);
    assert.deepEqual(r?.throughputRange, [0.75, 1.5]);
  });

  it('keeps worker-scaling rows (slow provider) out of every ratio, but prints them in a table of their own', () => {
    const results = [
      row('limit', 'limit', 200),
      row('ours ×1', 'ours', 150),
      row('ours ×2', 'ours', 90, { workers: 2, providerCallLatencyMs: 200 }),
    ];
    assert.deepEqual(ratios(results).map((r) => r.ours), ['ours ×1']);
    const report = markdownReport(results, []);
    assert.match(report, /\| burst 1000, provider calls 200 ms \| 2 \| 90 \|/);
  });

  it('never compares against a peer row that failed', () => {
    assert.deepEqual(ratios([row('kwok', 'kwok', 100, { error: 'timed out' }), row('ours ×1', 'ours', 150)]), []);
  });
});
