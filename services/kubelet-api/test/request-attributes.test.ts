import assert from 'node:assert/strict';
import { nodeRequestAttributes } from '../src/auth/request-attributes.ts';

describe('kubelet request attributes', () => {
  const sub = (method: string, path: string): string[] => nodeRequestAttributes(method, path, 'n1').subresources;

  it('maps paths to the kubelet\'s subresources, fine-grained ones falling back to proxy', () => {
    assert.deepEqual(sub('GET', '/stats/summary'), ['stats']);
    assert.deepEqual(sub('GET', '/stats'), ['stats']);
    assert.deepEqual(sub('GET', '/metrics/resource'), ['metrics']);
    assert.deepEqual(sub('GET', '/metrics'), ['metrics']);
    assert.deepEqual(sub('GET', '/logs/syslog'), ['log']);
    assert.deepEqual(sub('GET', '/containerLogs/ns/pod/c'), ['proxy']);
    assert.deepEqual(sub('GET', '/pods'), ['pods', 'proxy']);
    assert.deepEqual(sub('GET', '/runningpods/'), ['pods', 'proxy']);
    assert.deepEqual(sub('GET', '/healthz'), ['healthz', 'proxy']);
    assert.deepEqual(sub('POST', '/exec/ns/pod/c'), ['proxy']);
    assert.deepEqual(sub('GET', '/statsxyz'), ['proxy'], 'a prefix match must end at a path segment');
    assert.deepEqual(sub('GET', '/no/such/path'), ['proxy']);
  });

  it('takes the verb from the HTTP method and names the node', () => {
    const attrs = nodeRequestAttributes('POST', '/exec/a/b/c', 'vk-1');
    assert.deepEqual({ verb: attrs.verb, resource: attrs.resource, name: attrs.name }, { verb: 'create', resource: 'nodes', name: 'vk-1' });
    assert.equal(nodeRequestAttributes('GET', '/', 'x').verb, 'get');
    assert.equal(nodeRequestAttributes('PUT', '/', 'x').verb, 'update');
    assert.equal(nodeRequestAttributes('PATCH', '/', 'x').verb, 'patch');
    assert.equal(nodeRequestAttributes('DELETE', '/', 'x').verb, 'delete');
  });
});
