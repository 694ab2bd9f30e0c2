import assert from 'node:assert/strict';
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

  it('reports an exited container as terminated with its code', () => {
    const b = new MockBackend();
    b.create(spec('u4'));
    b.exitContainer({ namespace: 'ns', name: 'p', uid: 'u4' }, 'c', 3);
    const state = b.get({ namespace: 'ns', name: 'p', uid: 'u4' })!.containers[0]!.state;
    assert.equal(state.state, 'terminated');
    assert.equal(state.state === 'terminated' && state.exitCode, 3);
  });
});
