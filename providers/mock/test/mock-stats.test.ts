import assert from 'node:assert/strict';
import { MockBackend } from '../src/mock-backend.ts';
import { mockStatsSummary } from '../src/mock-stats.ts';

describe('mock stats summary', () => {
  const ref = { namespace: 'ns', name: 'web', uid: 'u1' };
  const backend = (): MockBackend => {
    const b = new MockBackend();
    b.create({ node: 'n', ref, volumes: [], initContainers: [], containers: ['app', 'sidecar'].map((name) => ({ name, image: 'nginx', command: [], args: [], env: {} })) });
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
    assert.equal(app.cpu?.usageCoreNanoSeconds, 5_000_000_000, '0.5 cores for 10 s');
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
});
