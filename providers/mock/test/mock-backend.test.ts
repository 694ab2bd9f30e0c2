import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { MockBackend, MockBackendError } from '../src/mock-backend.ts';

const spec = (uid: string, image = 'nginx') => ({
  node: 'n', ref: { namespace: 'ns', name: 'p', uid }, volumes: [], initContainers: [],
  containers: [{ name: 'c', image, command: [], args: [], env: {} }],
});

describe('mock backend', () => {
  it('creates a pod once per uid however often it is asked', () => {
    const b = new MockBackend();
    b.create(spec('u1'));
    b.create(spec('u1'));
    assert.equal(b.list().length, 1);
    assert.equal(b.createCounts.get('ns/p/u1'), 1);
  });

  it('fails injected creates, then succeeds', () => {
    const b = new MockBackend();
    b.setFaults({ failCreates: 1 });
    assert.throws(() => b.create(spec('u2')), (e: MockBackendError) => e.kind === 'transient');
    b.create(spec('u2'));
    assert.equal(b.list().length, 1);
  });

  it('refuses an image it cannot get as an image error naming the container and image', () => {
    const b = new MockBackend();
    b.setFaults({ rejectImages: ['bad:1'] });
    assert.throws(() => b.create(spec('u3', 'bad:1')), (e: MockBackendError) =>
      e.kind === 'image' && e.status === 400 && /bad:1/.test(e.message) && e.details?.['image'] === 'bad:1' && typeof e.details['container'] === 'string');
  });

  it('reports an exited container of a restartPolicy Never pod as terminated with its code', () => {
    const b = new MockBackend();
    b.create({ ...spec('u4'), restartPolicy: 'Never' });
    b.exitContainer({ namespace: 'ns', name: 'p', uid: 'u4' }, 'c', 3);
    const state = b.get({ namespace: 'ns', name: 'p', uid: 'u4' })!.containers[0]!.state;
    assert.equal(state.state, 'terminated');
    assert.equal(state.state === 'terminated' && state.exitCode, 3);
  });

  it('restarts an exited container as its pod\'s restart policy says, after a back-off that doubles', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const b = new MockBackend();
    try {
      b.setFaults({ restartDelayMs: 1000 });
      const ref = { namespace: 'ns', name: 'p', uid: 'u5' };
      b.create(spec('u5')); // no restartPolicy: Always, the Kubernetes default
      const c = () => b.get(ref)!.containers[0]!;
      b.exitContainer(ref, 'c', 0);
      const waiting = c().state;
      assert.deepEqual([waiting.state, waiting.state === 'waiting' && waiting.reason], ['waiting', 'CrashLoopBackOff']);
      const last = c().lastState;
      assert.equal(last?.state === 'terminated' && last.exitCode, 0);
      mock.timers.tick(999);
      assert.equal(c().state.state, 'waiting', 'not before its back-off');
      mock.timers.tick(1);
      assert.deepEqual([c().state.state, c().restartCount], ['running', 1]);
      b.exitContainer(ref, 'c', 2);
      mock.timers.tick(1999);
      assert.equal(c().state.state, 'waiting', 'the second back-off is twice the first');
      mock.timers.tick(1);
      assert.deepEqual([c().state.state, c().restartCount], ['running', 2]);

      const onFailure = { namespace: 'ns', name: 'p', uid: 'u6' };
      b.create({ ...spec('u6'), restartPolicy: 'OnFailure' });
      b.exitContainer(onFailure, 'c', 0);
      mock.timers.tick(10_000);
      assert.equal(b.get(onFailure)!.containers[0]!.state.state, 'terminated', 'OnFailure does not restart a success');

      // A pod deleted while a container waits to restart: no restart after it.
      b.exitContainer(ref, 'c', 1);
      b.delete(ref);
      mock.timers.tick(60_000);
      assert.equal(b.get(ref), undefined);
    } finally {
      b.close();
      mock.timers.reset();
    }
  });
});
