import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { MockBackend } from '../src/mock-backend.ts';
import { mockStatsSummary } from '../src/mock-stats.ts';

describe('mock stats summary', () => {
  const ref = { namespace: 'ns', name: 'web', uid: 'u1' };
  const backend = (): MockBackend => {
    const b = new MockBackend();
    // restartPolicy Never: an exited container stays ended (no restart timer outlives a test).
    b.create({ node: 'n', ref, volumes: [], initContainers: [], restartPolicy: 'Never', containers: ['app', 'sidecar'].map((name) => ({ name, image: 'nginx', command: [], args: [], env: {} })) });
    return b;
  };

  it('derives each running container\'s figures from its usage, with cumulative CPU growing with time', () => {
    const b = backend();
    b.setUsage(ref, 'app', { cpuNanoCores: 500_000_000, memoryBytes: 1000 });
    const started = Date.parse((b.get(ref)!.containers[0]!.state as { startedAt: string }).startedAt);
    const at = (s: number) => mockStatsSummary('n', new Date(0), b.list('n'), new Date(started + s * 1000));
    const first = at(10);
    const app = first.pods[0]!.containers.find((c) => c.name === 'app')!;
    assert.equal(app.cpu?.usageNanoCores, 500_000_000);
    // 0.5 cores for 10 s, plus the default 1 millicore for the moment before setUsage.
    assert.ok(Math.abs((app.cpu?.usageCoreNanoSeconds ?? 0) - 5_000_000_000) < 50_000_000, `0.5 cores for 10 s: ${app.cpu?.usageCoreNanoSeconds}`);
    assert.equal(app.memory?.workingSetBytes, 1000);
    assert.equal(first.pods[0]!.memory?.workingSetBytes, 1000 + 8 * 1024 * 1024, 'pod = sum of containers');
    assert.equal(first.node.cpu?.usageNanoCores, 501_000_000, 'node = sum of pods');
    assert.deepEqual(first.pods[0]!.podRef, { name: 'web', namespace: 'ns', uid: 'u1' });
    assert.ok((at(20).pods[0]!.containers[0]!.cpu!.usageCoreNanoSeconds ?? 0) > (app.cpu.usageCoreNanoSeconds ?? 0));
    assert.deepEqual(at(10), first, 'deterministic for a given time');
  });

  it('leaves out containers that are not running, and pods with none running', () => {
    const b = backend();
    b.exitContainer(ref, 'sidecar', 0);
    assert.deepEqual(mockStatsSummary('n', new Date(0), b.list('n'), new Date()).pods[0]!.containers.map((c) => c.name), ['app']);
    b.exitContainer(ref, 'app', 1);
    assert.deepEqual(mockStatsSummary('n', new Date(0), b.list('n'), new Date()).pods, []);
  });

  it('never lets cumulative CPU go down: not when a container\'s usage drops, a container ends, or a pod is removed', () => {
    // A fake clock (Date only): each step is 10 s apart, so a counter that fell would show it.
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-01T00:00:00Z') });
    try {
      const b = backend();
      const other = { namespace: 'ns', name: 'other', uid: 'u2' };
      b.create({ node: 'n', ref: other, volumes: [], initContainers: [], containers: [{ name: 'c', image: 'nginx', command: [], args: [], env: {} }] });
      b.setUsage(ref, 'app', { cpuNanoCores: 2_000_000_000 });
      b.setUsage(other, 'c', { cpuNanoCores: 1_000_000_000 });
      const readings: { node: number; pod?: number; app?: number }[] = [];
      const step = (change: () => void): void => {
        mock.timers.tick(10_000);
        change();
        const s = mockStatsSummary('n', new Date(0), b.list('n'), new Date(), b.removedPodsCpuUsed('n'));
        const web = s.pods.find((p) => p.podRef.name === 'web');
        readings.push({ node: s.node.cpu!.usageCoreNanoSeconds!, pod: web?.cpu?.usageCoreNanoSeconds, app: web?.containers.find((c) => c.name === 'app')?.cpu?.usageCoreNanoSeconds });
      };
      step(() => undefined);
      step(() => b.setUsage(ref, 'app', { cpuNanoCores: 1 })); // usage drops
      step(() => b.exitContainer(ref, 'sidecar', 0)); // a container ends
      step(() => b.delete(other)); // a pod goes
      step(() => undefined);
      for (let i = 1; i < readings.length; i++) {
        for (const key of ['node', 'pod', 'app'] as const) {
          assert.ok((readings[i]![key] ?? 0) >= (readings[i - 1]![key] ?? 0), `${key} went down at step ${i}: ${JSON.stringify(readings)}`);
        }
      }
      // app: 2 cores for 20 s, then 1 nanocore; the pod adds the sidecar's 1 millicore for 30 s.
      assert.equal(readings.at(-1)!.app, 40_000_000_000 + 30);
      assert.equal(readings.at(-1)!.pod, 40_000_000_000 + 30 + 30_000_000);
      // The node adds the removed pod: 1 core for 40 s.
      assert.equal(readings.at(-1)!.node, readings.at(-1)!.pod! + 40_000_000_000);
    } finally {
      mock.timers.reset();
    }
  });
});
