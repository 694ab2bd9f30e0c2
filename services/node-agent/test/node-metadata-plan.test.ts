import assert from 'node:assert/strict';
import { LAST_APPLIED_ANNOTATION, planNodeMetadata, type AppliedNodeMeta, type NodeTaint } from '../src/node-metadata-plan.ts';

const OURS: NodeTaint = { key: 'virtual-kubelet.io/provider', value: 'mock', effect: 'NoSchedule' };
const USERS: NodeTaint = { key: 'team', value: 'a', effect: 'NoSchedule' };
const NOT_READY: NodeTaint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };

function applied(over: Partial<AppliedNodeMeta> = {}): AppliedNodeMeta {
  return { labels: { type: 'virtual-kubelet', team: 'blue' }, taints: [OURS], resources: ['cpu', 'memory', 'nvidia.com/gpu'], ...over };
}

function annotated(record: AppliedNodeMeta): Record<string, string> {
  return { [LAST_APPLIED_ANNOTATION]: JSON.stringify(record) };
}

describe('the node metadata plan for an existing Node', () => {
  it('changes nothing on a node as the settings left it, whatever taints and labels others added', () => {
    const plan = planNodeMetadata({
      resourceVersion: '7',
      labels: { type: 'virtual-kubelet', team: 'blue', users: 'label' },
      annotations: annotated(applied()),
      taints: [USERS, OURS, NOT_READY],
    }, applied());
    assert.equal(plan.patch, undefined);
    assert.deepEqual(plan.staleResources, []);
  });

  it('keeps every other taint when it puts back our changed taint, with the resourceVersion as precondition', () => {
    const plan = planNodeMetadata({
      resourceVersion: '7',
      labels: { type: 'virtual-kubelet', team: 'blue' },
      annotations: annotated(applied()),
      taints: [USERS, OURS, NOT_READY],
    }, applied({ taints: [{ ...OURS, value: 'other' }] }));
    assert.deepEqual(plan.patch?.spec?.taints, [USERS, NOT_READY, { ...OURS, value: 'other' }]);
    assert.equal(plan.patch?.metadata.resourceVersion, '7');
  });

  it('does not put back our taint a user took off, and takes ours off when the settings drop it', () => {
    const removedByUser = planNodeMetadata({
      resourceVersion: '7', labels: { type: 'virtual-kubelet', team: 'blue' }, annotations: annotated(applied()), taints: [USERS],
    }, applied());
    assert.equal(removedByUser.patch, undefined);

    const disabled = planNodeMetadata({
      resourceVersion: '7', labels: { type: 'virtual-kubelet', team: 'blue' }, annotations: annotated(applied()), taints: [USERS, OURS],
    }, applied({ taints: [] }));
    assert.deepEqual(disabled.patch?.spec?.taints, [USERS]);
  });

  it('adds our taint to a node with no record of what was applied, and takes nothing off it', () => {
    const plan = planNodeMetadata({ resourceVersion: '3', labels: { type: 'virtual-kubelet', team: 'blue', old: 'x' }, taints: [USERS] }, applied());
    assert.deepEqual(plan.patch?.spec?.taints, [USERS, OURS]);
    assert.equal((plan.patch?.metadata.labels as Record<string, unknown> | undefined)?.old, undefined);
    assert.equal(plan.patch?.metadata.annotations && JSON.parse((plan.patch.metadata.annotations as Record<string, string>)[LAST_APPLIED_ANNOTATION]!).taints.length, 1);
    assert.deepEqual(plan.staleResources, []);
  });

  it('re-applies our labels, removes one the settings no longer ask for, and leaves the users\' labels', () => {
    const plan = planNodeMetadata({
      resourceVersion: '7',
      labels: { type: 'changed-by-hand', team: 'blue', users: 'label' },
      annotations: annotated(applied()),
      taints: [OURS],
    }, applied({ labels: { type: 'virtual-kubelet' } }));
    assert.deepEqual(plan.patch?.metadata.labels, { type: 'virtual-kubelet', team: null });
    assert.equal(plan.patch?.spec, undefined, 'taints untouched');
    assert.equal(plan.patch?.metadata.resourceVersion, undefined, 'no precondition without a taint change');
  });

  it('names the resources an earlier start advertised, the provider no longer has and the Node still shows, and records them until they are gone', () => {
    const recorded = (plan: ReturnType<typeof planNodeMetadata>) => JSON.parse((plan.patch?.metadata.annotations as Record<string, string>)[LAST_APPLIED_ANNOTATION]!).resources;
    const current = { resourceVersion: '7', labels: { type: 'virtual-kubelet', team: 'blue' }, annotations: annotated(applied()), taints: [OURS] };
    const stillShown = planNodeMetadata({ ...current, capacity: ['cpu', 'memory', 'nvidia.com/gpu'] }, applied({ resources: ['cpu', 'memory'] }));
    assert.deepEqual(stillShown.staleResources, ['nvidia.com/gpu']);
    assert.equal(stillShown.patch, undefined, 'the record keeps naming it, so a start before the status write still knows to remove it');
    const removed = planNodeMetadata({ ...current, capacity: ['cpu', 'memory'] }, applied({ resources: ['cpu', 'memory'] }));
    assert.deepEqual(removed.staleResources, []);
    assert.deepEqual(recorded(removed), ['cpu', 'memory']);
  });

  it('takes nothing back when the record is not readable', () => {
    const plan = planNodeMetadata({
      resourceVersion: '7', labels: { type: 'virtual-kubelet', team: 'blue', x: 'y' }, annotations: { [LAST_APPLIED_ANNOTATION]: '{not json' }, taints: [USERS, OURS],
    }, applied({ labels: { type: 'virtual-kubelet' } }));
    assert.equal(plan.patch?.spec, undefined);
    assert.equal(plan.patch?.metadata.labels, undefined);
    assert.deepEqual(plan.staleResources, []);
  });
});
