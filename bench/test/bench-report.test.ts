import assert from 'node:assert/strict';
import { cpuMsPerPod, markdownReport, ratios, ratiosOverRounds } from '../bench-report.ts';
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

  it('compares each round of a multi-round run with the peers of its own round only', () => {
    const results = [
      row('limit', 'limit', 200, { round: 1 }), row('ours ×1', 'ours', 160, { round: 1 }), row('limit (again)', 'limit', 200, { round: 1 }),
      row('limit', 'limit', 100, { round: 2 }), row('ours ×1', 'ours', 90, { round: 2 }), row('limit (again)', 'limit', 100, { round: 2 }),
    ];
    assert.deepEqual(ratios(results).map((r) => [r.round, r.throughput]), [[1, 0.8], [2, 0.9]]);
  });

  it('gives the median of the rounds\' ratios with their range, and the mean of the middle two for an even count', () => {
    const results = [0.8, 0.55, 0.85, 0.74].flatMap((x, i) => [row('limit', 'limit', 100, { round: i + 1 }), row('ours ×2', 'ours', 100 * x, { round: i + 1 })]);
    const [r, ...more] = ratiosOverRounds(ratios(results));
    assert.equal(more.length, 0);
    assert.equal(r?.peer, 'limit');
    assert.equal(r?.rounds, 4);
    assert.equal(r?.throughputMedian, 0.77);
    assert.deepEqual(r?.throughputRange, [0.55, 0.85]);
    assert.deepEqual(r?.perRound, [0.8, 0.55, 0.85, 0.74]);
    assert.match(markdownReport(results, []), /\| burst 1000 \| ours ×2 \| limit \| 4 \| 0\.77 \(0\.55–0\.85\) \| 0\.80, 0\.55, 0\.85, 0\.74 \| 1\.00 \|/);
  });

  it('has no summary over rounds for a run of one round', () => {
    assert.deepEqual(ratiosOverRounds(ratios([row('limit', 'limit', 200), row('ours ×1', 'ours', 150)])), []);
  });

  it('counts the control plane\'s and the system\'s CPU per pod, and predicts the throughput ratio from it', () => {
    const limit = row('limit', 'limit', 200, { processes: [{ name: 'writer', pid: 1, cpuSeconds: 0.5, peakRssMb: 90 }], controlPlane: { name: 'controlplane', pid: 2, cpuSeconds: 4.5, peakRssMb: 900 } });
    const ours = row('ours ×1', 'ours', 150, {
      processes: [{ name: 'pod-worker-1', pid: 3, cpuSeconds: 1, peakRssMb: 100 }, { name: 'node-agent', pid: 4, cpuSeconds: 0.5, peakRssMb: 100 }],
      controlPlane: { name: 'controlplane', pid: 2, cpuSeconds: 5, peakRssMb: 900 },
      driver: { name: 'bench driver', pid: 5, cpuSeconds: 9, peakRssMb: 300 },
      machine: { busyCores: 1.93, stealPercent: 0.4, seconds: 7 },
    });
    assert.equal(cpuMsPerPod(limit), 5); // (4.5 + 0.5) s over 1,000 pods
    assert.equal(cpuMsPerPod(ours), 6.5); // the bench driver's 9 s is not the system's
    const [r] = ratios([limit, ours]);
    assert.equal(r?.throughput, 0.75);
    assert.equal(r?.cpuPredicted, 0.77);
    const report = markdownReport([limit, ours], []);
    assert.match(report, /\| ours ×1 \|.*\| 5\.0 \| 6\.50 \| 1\.93 \(0\.4\); bench driver 9\.0 s \|$/m);
    assert.match(report, /\| burst 1000 \| ours ×1 \| limit \| 0\.75 \| 0\.77 \|/);
  });

  it('predicts nothing from CPU for steady rows, whose throughput is the offered rate', () => {
    const steady = { scenario: 'steady' as const, ratePerSecond: 50 };
    const [r] = ratios([row('limit', 'limit', 50, steady), row('ours ×1', 'ours', 50, steady)]);
    assert.equal(r?.cpuPredicted, undefined);
  });
});
