import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { fieldValue, resourceFieldValue } from '../src/downward-api.ts';
import { expand } from '../src/pod-resolver.ts';

const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { b: '2', a: 'x"y' }, annotations: { note: 'hi' } },
  spec: {
    nodeName: 'vk', serviceAccountName: 'sa',
    containers: [
      { name: 'main', image: 'i', resources: { limits: { cpu: '1500m', memory: '128Mi' }, requests: { cpu: '250m' } } },
      { name: 'side', image: 'i' },
    ],
  },
  status: { podIP: '10.0.0.7', hostIP: '192.0.2.1' },
};
const allocatable = { cpu: '4', memory: '8Gi' };

describe('downward API values', () => {
  it('answers fieldRefs, including labels and annotations files in the kubelet\'s format and IPs once known', () => {
    assert.equal(fieldValue(pod, 'metadata.name', 'env'), 'p');
    assert.equal(fieldValue(pod, 'metadata.labels', 'env'), 'a="x\\"y"\nb="2"');
    assert.equal(fieldValue(pod, "metadata.annotations['note']", 'env'), 'hi');
    assert.equal(fieldValue(pod, 'status.podIP', 'env'), '10.0.0.7');
    assert.equal(fieldValue({ ...pod, status: {} }, 'status.hostIP', 'env'), '');
    assert.throws(() => fieldValue(pod, 'spec.schedulerName', 'env "X"'), /fieldRef "spec\.schedulerName" in env "X" is not supported/);
  });

  it('divides resources by the divisor and rounds up; a missing limit is the node\'s allocatable', () => {
    assert.equal(resourceFieldValue(pod, { resource: 'limits.cpu' }, 'main', allocatable, 'env'), '2');
    assert.equal(resourceFieldValue(pod, { resource: 'limits.cpu', divisor: '1m' as never }, 'main', allocatable, 'env'), '1500');
    assert.equal(resourceFieldValue(pod, { resource: 'requests.cpu', divisor: '0' as never }, 'main', allocatable, 'env'), '1');
    assert.equal(resourceFieldValue(pod, { resource: 'limits.memory', divisor: '1Mi' as never }, 'main', allocatable, 'env'), '128');
    assert.equal(resourceFieldValue(pod, { resource: 'limits.memory', divisor: '1Gi' as never }, 'side', allocatable, 'env'), '8');
    assert.equal(resourceFieldValue(pod, { containerName: 'side', resource: 'requests.memory' }, undefined, allocatable, 'vol'), '0');
  });

  it('names the problem for unsupported resources and unknown containers', () => {
    assert.throws(() => resourceFieldValue(pod, { resource: 'limits.hugepages-2Mi' }, 'main', allocatable, 'env "H"'), /resourceFieldRef "limits\.hugepages-2Mi" in env "H" is not supported/);
    assert.throws(() => resourceFieldValue(pod, { containerName: 'nope', resource: 'limits.cpu' }, undefined, allocatable, 'volume "v"'), /names container "nope"/);
  });
});

describe('$(VAR) expansion', () => {
  it('expands known variables, keeps unknown ones and unescapes $$', () => {
    assert.equal(expand('$(A)-$(B)-$$(A)-$$', { A: '1' }), '1-$(B)-$(A)-$');
  });
});
