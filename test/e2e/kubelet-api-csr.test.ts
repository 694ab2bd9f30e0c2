import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ControlPlane, LoopbackAlias, ServiceProcess, freePort, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const run = promisify(execFile);
const NODE = 'kapi-csr-node';
const NS = 'kapi-csr';

interface Csr {
  metadata: { name: string };
  spec: { signerName: string; usages: string[]; request: string };
  status?: { certificate?: string; conditions?: { type: string }[] };
}

describe('kubelet-api without certificate files: serving certificate through a CSR', function () {
  this.timeout(180_000);
  // A control plane of its own: its API server verifies kubelet serving certificates against the cluster CA.
  let cp: ControlPlane;
  let alias: LoopbackAlias | undefined;
  let host = '127.0.0.1';
  let skipProxyReason = '';
  const running: ServiceProcess[] = [];
  let common: string[] = [];
  let kubeletArgs: string[] = [];
  let healthPort = 0;
  const kubectl = async (...args: string[]): Promise<string> => (await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args])).stdout;
  const readyz = async (): Promise<number> => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status;

  before(async function () {
    this.timeout(240_000);
    cp = await ControlPlane.start({ verifyKubeletServing: true, nodeMonitorGracePeriod: '8s' });
    const added = await LoopbackAlias.add();
    if (added instanceof LoopbackAlias) {
      alias = added;
      host = alias.address;
    } else {
      skipProxyReason = added.skipReason;
    }
    const dir = mkdtempSync(join(tmpdir(), 'vk-kapi-csr-'));
    const cfg = join(dir, 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const port = await freePort();
    healthPort = await freePort();
    common = ['--kubeconfig', cp.kubeconfigPath, '--nodename', NODE, '--provider-config', cfg];
    kubeletArgs = [...common, '--host', host, '--port', String(port), '--health-port', String(healthPort), '--health-host', '127.0.0.1', '--cert-dir', join(dir, 'certs')];
    running.push(
      ServiceProcess.start('node-agent', [...common, '--redis-url', env.redis.url, '--internal-ip', host, '--kubelet-port', String(port), '--health-port', '0']),
      ServiceProcess.start('pod-worker', [...common, '--redis-url', env.redis.url, '--health-port', '0']));
  });

  after(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    await alias?.remove();
    await cp?.close();
  });

  it('requests a kubelet-serving certificate, serves once it is approved, and the verifying API server reaches it', async () => {
    const api = ServiceProcess.start('kubelet-api', kubeletArgs);
    running.push(api);
    const csr = await waitFor('a CSR from kubelet-api', async () => {
      const list = JSON.parse(await kubectl('get', 'csr', '-l', `virtual-kubelet.io/node=${NODE}`, '-o', 'json')) as { items: Csr[] };
      return list.items[0];
    });
    assert.equal(csr.spec.signerName, 'kubernetes.io/kubelet-serving');
    assert.deepEqual([...csr.spec.usages].sort(), ['digital signature', 'key encipherment', 'server auth']);
    const request = Buffer.from(csr.spec.request, 'base64').toString();
    const requestFile = join(mkdtempSync(join(tmpdir(), 'vk-csr-')), 'req.pem');
    writeFileSync(requestFile, request);
    const { stdout: text } = await run('openssl', ['req', '-noout', '-text', '-in', requestFile]);
    assert.match(text, /Subject: O ?= ?system:nodes, CN ?= ?system:node:kapi-csr-node/);
    assert.ok(text.includes(`IP Address:${host}`), `the node's InternalIP ${host} is a SAN`);
    assert.equal(await readyz(), 503, 'not ready while the CSR waits for approval');

    await kubectl('certificate', 'approve', csr.metadata.name);
    await api.waitForOutput(/Server listening/, 60_000);
    await waitFor('readyz', async () => (await readyz()) === 200);

    await kubectl('create', 'namespace', NS);
    await waitFor('default service account', () => kubectl('-n', NS, 'get', 'sa', 'default').then(() => true));
    await waitFor('node Ready', async () => (await kubectl('get', 'node', NODE, '--no-headers')).includes(' Ready '));
    await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, '-n', NS, 'run', 'talker', '--image=busybox', '--restart=Never',
      `--overrides=${JSON.stringify({ spec: { nodeName: NODE, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }] } })}`]);
    await waitFor('pod Running', async () => (await kubectl('-n', NS, 'get', 'pod', 'talker', '-o', 'jsonpath={.status.phase}')) === 'Running');
    // pods/log: the API server dials the node's InternalIP and verifies the certificate against the cluster CA.
    assert.match(await kubectl('-n', NS, 'logs', 'talker'), /mock: started container talker/);
  });

  it('serves /stats/summary through the API server\'s node proxy with the issued certificate', async function () {
    // The node proxy refuses loopback addresses: this needs the loopback alias (root).
    if (!alias) { console.log(`      skipped: ${skipProxyReason}`); this.skip(); }
    const summary = JSON.parse(await kubectl('get', '--raw', `/api/v1/nodes/${NODE}/proxy/stats/summary`)) as { pods: { podRef: { name: string } }[] };
    assert.ok(summary.pods.some((p) => p.podRef.name === 'talker'), `pods in the summary: ${summary.pods.map((p) => p.podRef.name).join(', ')}`);
  });

  it('reuses the issued certificate from --cert-dir after a restart, without a new CSR', async () => {
    await running.pop()!.stop();
    const before = (JSON.parse(await kubectl('get', 'csr', '-o', 'json')) as { items: Csr[] }).items.length;
    const api = ServiceProcess.start('kubelet-api', kubeletArgs);
    running.push(api);
    await api.waitForOutput(/reusing the kept serving certificate/);
    await api.waitForOutput(/Server listening/);
    assert.equal((JSON.parse(await kubectl('get', 'csr', '-o', 'json')) as { items: Csr[] }).items.length, before);
    assert.match(await kubectl('-n', NS, 'logs', 'talker'), /mock: started container talker/);
  });

  it('exits 0 on SIGTERM while its CSR waits for approval', async () => {
    // A second instance beside the running one: its own health port and an empty cert dir.
    const args = kubeletArgs.map((a) => (a.endsWith('certs') ? `${a}-unapproved` : a === String(healthPort) ? '0' : a));
    const api = ServiceProcess.start('kubelet-api', args);
    running.push(api);
    await api.waitForOutput(/waiting for CertificateSigningRequest/);
    api.child.kill('SIGTERM');
    assert.equal(await api.exited(), 0);
  });
});
