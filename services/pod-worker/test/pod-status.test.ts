import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import type { ProviderPod } from '@vk-ts/core';
import { desiredPodStatus, kubeTime, statusChanged } from '../src/pod-status.ts';

const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
  status: { phase: 'Pending', qosClass: 'BestEffort' },
};
const provided: ProviderPod = {
  ref: { namespace: 'ns', name: 'p', uid: 'u' },
  status: {
    phase: 'Running', podIP: '10.0.0.1', startTime: '2026-11-23T10:00:00.123Z' as unknown as Date,
    containerStatuses: [{ name: 'c', image: 'busybox', imageID: 'x', ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2026-11-23T10:00:01.456Z' as unknown as Date } } }],
  },
};

describe('pod status', () => {
  it('writes times as the API server stores them, so a status read back compares equal and is not written again', () => {
    const desired = desiredPodStatus(pod, provided, '2026-11-23T10:00:02.789Z');
    const stored: V1Pod = { ...pod, status: JSON.parse(JSON.stringify(desired)) as V1Pod['status'] };
    assert.equal((stored.status!.containerStatuses![0]!.state!.running!.startedAt as unknown as string), '2026-11-23T10:00:01Z');
    assert.equal(stored.status!.startTime as unknown as string, '2026-11-23T10:00:00Z');
    assert.equal(statusChanged(stored, desiredPodStatus(stored, provided, '2026-11-23T10:05:00.000Z')), false);
  });

  it('ends each ephemeral container with a reason, and a pass later writes nothing new', () => {
    const debugged: V1Pod = { ...pod, spec: { ...pod.spec!, ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] } };
    const desired = desiredPodStatus(debugged, provided, '2026-11-23T10:00:02Z');
    const statuses = desired['ephemeralContainerStatuses'] as { name: string; state: { terminated: { reason: string; exitCode: number } } }[];
    assert.deepEqual(statuses.map((c) => [c.name, c.state.terminated.reason, c.state.terminated.exitCode]), [['dbg', 'EphemeralContainersNotSupported', 128]]);
    const stored: V1Pod = { ...debugged, status: JSON.parse(JSON.stringify(desired)) as V1Pod['status'] };
    assert.equal(statusChanged(stored, desiredPodStatus(stored, provided, '2026-11-23T10:09:00Z')), false);
    assert.equal('ephemeralContainerStatuses' in desiredPodStatus(pod, provided, '2026-11-23T10:00:02Z'), false, 'none without ephemeral containers');
  });

  it('clears a reason and message an earlier pass left once the provider runs the pod, on the pod and on its True conditions', () => {
    const failedBefore: V1Pod = {
      ...pod,
      status: {
        phase: 'Pending', qosClass: 'BestEffort', reason: 'ProviderFailed', message: 'injected transient create failure',
        conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [c]' }],
      },
    };
    const desired = desiredPodStatus(failedBefore, provided, '2026-11-23T10:00:02Z') as { reason: unknown; message: unknown; conditions: { type: string; reason?: unknown; message?: unknown }[] };
    assert.equal(desired.reason, null, 'null removes it in the strategic merge patch');
    assert.equal(desired.message, null);
    const ready = desired.conditions.find((c) => c.type === 'Ready')!;
    assert.deepEqual([ready.reason, ready.message], [null, null]);
    assert.equal(statusChanged(failedBefore, desired), true, 'the stale reason alone makes the status worth writing');
    // As the API server stores the patch: null fields removed.
    const stored: V1Pod = { ...failedBefore, status: JSON.parse(JSON.stringify(desired, (_k, v: unknown) => (v === null ? undefined : v))) as V1Pod['status'] };
    assert.equal(stored.status!.reason, undefined);
    assert.equal(statusChanged(stored, desiredPodStatus(stored, provided, '2026-11-23T10:09:00Z')), false, 'and nothing is written again');
  });

  it('words a finished pod\'s unready conditions as the kubelet does', () => {
    const done = (phase: string) => ({ ...provided, status: { ...provided.status, phase, containerStatuses: [{ ...provided.status.containerStatuses![0]!, ready: false, state: { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1 } } }] } });
    const reasonOf = (phase: string) => (desiredPodStatus(pod, done(phase), '2026-11-23T10:00:02Z')['conditions'] as { type: string; reason?: string }[]).find((c) => c.type === 'Ready')!.reason;
    assert.equal(reasonOf('Succeeded'), 'PodCompleted');
    assert.equal(reasonOf('Failed'), 'PodFailed');
    assert.equal(reasonOf('Running'), 'ContainersNotReady');
  });

  it('counts a sidecar (an init container with restartPolicy Always) as initialized once started, and toward readiness', () => {
    const withSidecar: V1Pod = { ...pod, spec: { ...pod.spec!, initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }, { name: 'setup', image: 'busybox' }] } };
    const sidecar = (ready: boolean) => ({ name: 'proxy', image: 'envoy', imageID: 'x', ready, restartCount: 0, started: true, state: { running: { startedAt: '2026-11-23T10:00:00Z' as unknown as Date } } });
    const setup = { name: 'setup', image: 'busybox', imageID: 'x', ready: true, restartCount: 0, started: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
    const conditions = (ready: boolean) => Object.fromEntries((desiredPodStatus(withSidecar, { ...provided, status: { ...provided.status, initContainerStatuses: [sidecar(ready), setup] } }, '2026-11-23T10:00:02Z')['conditions'] as { type: string; status: string }[]).map((c) => [c.type, c.status]));
    assert.deepEqual([conditions(true)['Initialized'], conditions(true)['Ready']], ['True', 'True']);
    assert.deepEqual([conditions(false)['Initialized'], conditions(false)['ContainersReady'], conditions(false)['Ready']], ['True', 'False', 'False'], 'a sidecar not ready holds the pod\'s readiness');
  });

  it('formats times in whole seconds', () => {
    assert.equal(kubeTime('2026-11-23T10:00:01.999Z'), '2026-11-23T10:00:01Z');
    assert.equal(kubeTime(new Date('2026-11-23T10:00:01Z')), '2026-11-23T10:00:01Z');
    assert.equal(kubeTime(undefined), undefined);
  });
});

describe('status comparison', () => {
  it('ignores what the API server and other actors add, and sees what we would change', () => {
    const desired = desiredPodStatus(pod, provided, '2026-11-23T10:00:02Z');
    const stored = JSON.parse(JSON.stringify(desired)) as Record<string, unknown> & { conditions: Record<string, unknown>[]; containerStatuses: Record<string, unknown>[] };
    for (const c of stored.conditions) Object.assign(c, { lastProbeTime: null, observedGeneration: 1 });
    stored.conditions.unshift({ type: 'DisruptionTarget', status: 'False' });
    Object.assign(stored.containerStatuses[0]!, { volumeMounts: [{ name: 'v', mountPath: '/v' }], allocatedResources: {} });
    const back: V1Pod = { ...pod, status: stored as unknown as V1Pod['status'] };
    assert.equal(statusChanged(back, desiredPodStatus(back, provided, '2026-11-23T10:09:00Z')), false);

    const exited: ProviderPod = { ...provided, status: { ...provided.status, containerStatuses: [{ ...provided.status.containerStatuses![0]!, ready: false, state: { terminated: { exitCode: 1, reason: 'Error' } } }] } };
    assert.equal(statusChanged(back, desiredPodStatus(back, exited, '2026-11-23T10:09:00Z')), true);
  });
});
