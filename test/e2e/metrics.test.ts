import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, freePort, issueServingCert, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const NODE = 'metrics-node';
const NS = 'metrics';

/** The value of the sample `name` whose labels include `labels`, in Prometheus text; undefined when there is none. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

describe('metrics: queue, jobs, provider, API client, leadership, lease and kubelet port series of the running services', function () {
  this.timeout(120_000);
  const running: ServiceProcess[] = [];
  const ports = { agent: 0, worker: 0, api: 0, apiHealth: 0 };
  let pki = '';

  /** Straight to kubelet-api over TLS, with the API server's kubelet client certificate or none. */
  function kubeletPort(path: string, asApiServer: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port: ports.api, path, ca: readFileSync(join(pki, 'ca.crt')), agent: false,
        ...(asApiServer ? { cert: readFileSync(join(pki, 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki, 'apiserver-kubelet-client.key')) } : {}),
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  }

  before(async function () {
    this.timeout(180_000);
    pki = env.controlPlane.pkiDir;
    const dir = mkdtempSync(join(tmpdir(), 'vk-metrics-'));
    const cfg = join(dir, 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const { cert, key } = await issueServingCert({ pkiDir: pki, dir, nodeName: NODE });
    ports.agent = await freePort();
    ports.worker = await freePort();
    ports.api = await freePort();
    ports.apiHealth = await freePort();
    const common = ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', NODE, '--provider-config', cfg, '--health-host', '127.0.0.1'];
    running.push(
      ServiceProcess.start('node-agent', [...common, '--redis-url', env.redis.url, '--health-port', String(ports.agent), '--node-lease-renew-interval-seconds', '2',
        '--kubelet-port', String(ports.api), '--leader-elect', '--leader-election-name', 'vk-metrics-e2e', '--leader-election-retry-period', '1']),
      ServiceProcess.start('pod-worker', [...common, '--redis-url', env.redis.url, '--health-port', String(ports.worker)]),
      ServiceProcess.start('kubelet-api', [...common, '--health-port', String(ports.apiHealth), '--host', '127.0.0.1', '--port', String(ports.api),
        '--tls-cert-file', cert, '--tls-key-file', key]),
    );
    await env.kubectl('create', 'namespace', NS);
    await waitFor('node Ready', async () => (await env.kubectl('get', 'node', NODE, '--no-headers')).includes(' Ready '), { timeoutMs: 60_000 });
  });

  after(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    await env.kubectl('delete', 'namespace', NS, '--wait=false').catch(() => undefined);
  });

  it('shows a created pod\'s jobs, provider and API calls, the queue, leadership, the node Lease and kubelet port requests', async () => {
    await env.client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'measured' },
      spec: {
        nodeName: NODE, automountServiceAccountToken: false,
        tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }],
        containers: [{ name: 'c', image: 'busybox' }],
      },
    });
    await waitFor('pod Running', async () =>
      (await env.client.get<{ status: { phase?: string } }>(`/api/v1/namespaces/${NS}/pods/measured`)).status.phase === 'Running', { timeoutMs: 60_000 });

    const worker = await waitFor('the create job counted', async () => {
      const text = await scrape(ports.worker);
      return (valueOf(text, 'vk_pod_job_duration_seconds_count', { op: 'create', result: 'ok' }) ?? 0) >= 1 ? text : undefined;
    });
    assert.equal(valueOf(worker, 'vk_pod_jobs_total', { op: 'create', result: 'ok', service: 'pod-worker' }), valueOf(worker, 'vk_pod_job_duration_seconds_count', { op: 'create', result: 'ok' }));
    const waitCount = valueOf(worker, 'vk_pod_job_wait_seconds_count', { op: 'create' }) ?? 0;
    const waitSum = valueOf(worker, 'vk_pod_job_wait_seconds_sum', { op: 'create' }) ?? -1;
    assert.ok(waitCount >= 1 && waitSum >= 0 && waitSum / waitCount < 30, `create waits: ${waitCount} jobs, ${waitSum} s`);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      const jobs = valueOf(worker, 'vk_pod_queue_jobs', { state });
      assert.ok(jobs !== undefined && jobs >= 0, `vk_pod_queue_jobs{state="${state}"} is ${jobs}`);
    }
    assert.ok((valueOf(worker, 'vk_provider_request_duration_seconds_count', { method: 'createPod', result: 'ok' }) ?? 0) >= 1, 'createPod timed');
    assert.ok((valueOf(worker, 'vk_kube_api_request_duration_seconds_count', { verb: 'PATCH' }) ?? 0) >= 1, 'the status PATCH timed');
    assert.ok((valueOf(worker, 'vk_kube_api_requests_total', { verb: 'WATCH', code: '200' }) ?? 0) >= 1, 'the pod cache\'s watch counted');
    assert.equal(valueOf(worker, 'vk_kube_api_request_duration_seconds_count', { verb: 'WATCH' }), undefined, 'watches are not timed');
    assert.doesNotMatch(worker, /measured/, 'no pod names in labels');

    const agent = await scrape(ports.agent);
    assert.equal(valueOf(agent, 'vk_leader_election_is_leader', { service: 'node-agent' }), 1);
    const renewedS = valueOf(agent, 'vk_node_lease_renew_timestamp_seconds', { node: NODE });
    assert.ok(renewedS !== undefined && Math.abs(Date.now() / 1000 - renewedS) < 30, `node Lease renewed at ${renewedS}, now ${Date.now() / 1000}`);
    assert.ok((valueOf(agent, 'vk_provider_request_duration_seconds_count', { method: 'ping', result: 'ok' }) ?? 0) >= 1, 'the provider health check timed');

    assert.equal(await kubeletPort(`/containerLogs/${NS}/measured/c`, true), 200);
    assert.equal(await kubeletPort(`/containerLogs/${NS}/measured/c`, false), 401);
    const api = await scrape(ports.apiHealth);
    assert.equal(valueOf(api, 'vk_kubelet_api_requests_total', { route: '/containerLogs/:namespace/:pod/:container', code: '200' }), 1);
    assert.equal(valueOf(api, 'vk_kubelet_api_requests_total', { route: '/containerLogs/:namespace/:pod/:container', code: '401' }), 1);
    assert.equal(valueOf(api, 'vk_kubelet_api_auth_failures_total', { reason: 'unauthenticated' }), 1);
    assert.equal(valueOf(api, 'vk_provider_request_duration_seconds_count', { method: 'getContainerLogs', result: 'ok' }), 1);
  });
});
