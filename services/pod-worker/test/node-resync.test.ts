import assert from 'node:assert/strict';
import { needsPass } from '../src/node-resync.ts';
import type { PodSummary } from '../src/pod-cache.ts';

const pod = (over: Partial<PodSummary> = {}): PodSummary => ({
  namespace: 'ns', name: 'p', uid: 'u', generation: 1, terminating: false, phase: 'Running', activeDeadlineAt: undefined, ...over,
});

describe('which pods the node resync gives a pass', () => {
  it('none for a running pod whose status was recorded at its current generation', () => {
    assert.equal(needsPass(pod(), true, 1, true), false);
  });

  it('a pod missing from the provider, without a status record, or with a newer spec generation', () => {
    assert.equal(needsPass(pod(), false, 1, true), true, 'missing from the provider');
    assert.equal(needsPass(pod(), true, undefined, false), true, 'no status record (flushed, or the write never happened)');
    assert.equal(needsPass(pod({ generation: 2 }), true, 1, true), true, 'spec changed after the last pass (e.g. a lost image update)');
    assert.equal(needsPass(pod({ phase: 'Pending' }), false, undefined, false), true, 'a create that failed and waits for its retry');
    assert.equal(needsPass(pod({ activeDeadlineAt: Date.now() - 1 }), true, 1, true), true, 'past its activeDeadlineSeconds (its delayed job lost)');
    assert.equal(needsPass(pod({ activeDeadlineAt: Date.now() + 60_000 }), true, 1, true), false, 'before its deadline');
  });

  it('every terminating pod, finished or not, and no finished pod otherwise', () => {
    assert.equal(needsPass(pod({ terminating: true }), true, 1, true), true);
    assert.equal(needsPass(pod({ terminating: true, phase: 'Succeeded' }), false, undefined, false), true);
    assert.equal(needsPass(pod({ phase: 'Failed' }), false, undefined, false), false);
    assert.equal(needsPass(pod({ phase: 'Succeeded' }), true, 1, true), false);
  });
});
