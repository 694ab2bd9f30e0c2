import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, freePort, issueServingCert, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const NODE = 'logs-node';
const NS = 'logs';
const running: ServiceProcess[] = [];

describe('kubectl logs through the API server and kubelet-api', function () {
  this.timeout(120_000);
  let uid = '';
  let kubeletPort = 0;

  /** Straight to kubelet-api over TLS (the API server's node proxy refuses loopback addresses). */
  function direct(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const pki = env.controlPlane.pkiDir;
      // As the API server calls it: with its kubelet client certificate.
      httpsGet({
        host: '127.0.0.1', port: kubeletPort, path, ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki, 'apiserver-kubelet-client.key')),
      }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  }

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vk-logs-'));
    const cfg = join(dir, 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const { cert, key } = await issueServingCert({ pkiDir: env.controlPlane.pkiDir, dir, nodeName: NODE });
    const port = await freePort();
    kubeletPort = port;
    const common = ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', NODE, '--provider-config', cfg];
    const api = ServiceProcess.start('kubelet-api', [...common, '--port', String(port), '--host', '127.0.0.1', '--tls-cert-file', cert, '--tls-key-file', key, '--health-port', '0']);
    running.push(api,
      ServiceProcess.start('node-agent', [...common, '--redis-url', env.redis.url, '--kubelet-port', String(port), '--health-port', '0']),
      ServiceProcess.start('pod-worker', [...common, '--redis-url', env.redis.url, '--health-port', '0']));
    await api.waitForOutput(/Server listening/);
    await env.kubectl('create', 'namespace', NS);
    await waitFor('node Ready', async () => (await env.kubectl('get', 'node', NODE, '--no-headers')).includes(' Ready '));
    await waitFor('default service account', () => env.kubectl('-n', NS, 'get', 'sa', 'default').then(() => true));
    await env.client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talker' },
      spec: { nodeName: NODE, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }], containers: [{ name: 'app', image: 'busybox' }] },
    });
    uid = await waitFor('pod Running', async () => {
      const p = await env.client.get<{ metadata: { uid: string }; status: { phase?: string } }>(`/api/v1/namespaces/${NS}/pods/talker`);
      return p.status.phase === 'Running' ? p.metadata.uid : undefined;
    });
    env.mock.backend.appendLog({ namespace: NS, name: 'talker', uid }, 'app', ['line one', 'line two', 'line three']);
  });

  after(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  it('prints the provider\'s log lines, honouring --tail, --timestamps and --limit-bytes', async () => {
    const all = await env.kubectl('-n', NS, 'logs', 'talker');
    assert.match(all, /line one\nline two\nline three\n$/);
    assert.equal(await env.kubectl('-n', NS, 'logs', 'talker', '--tail=2'), 'line two\nline three\n');
    const stamped = await env.kubectl('-n', NS, 'logs', 'talker', '--tail=1', '--timestamps');
    assert.match(stamped, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z line three\n$/);
    assert.equal(await env.kubectl('-n', NS, 'logs', 'talker', '--tail=1', '--limit-bytes=4'), 'line');
    assert.match(await env.kubectl('-n', NS, 'logs', 'talker', '--since=1h'), /line three/);
  });

  it('answers a bad request with a 400 that names the problem', async () => {
    const both = await direct(`/containerLogs/${NS}/talker/app?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z`);
    assert.equal(both.status, 400);
    assert.match(both.body, /at most one of sinceTime or sinceSeconds/);
    const badTail = await direct(`/containerLogs/${NS}/talker/app?tailLines=-3`);
    assert.equal(badTail.status, 400);
    assert.match(badTail.body, /tailLines/);
    const traversal = await direct(`/containerLogs/${NS}/..%2F..%2Fetc/app`);
    assert.equal(traversal.status, 400);
    assert.equal((await direct('/no/such/route')).status, 404);
    const missing = await env.kubectl('-n', NS, 'logs', 'talker', '-c', 'nope').then(() => undefined, (e: Error & { stderr: string }) => e);
    assert.ok(missing, 'kubectl logs fails for an unknown container');
    assert.match(missing.stderr, /nope/);
    const direct404 = await direct(`/containerLogs/${NS}/talker/nope`);
    assert.equal(direct404.status, 404);
    assert.match(direct404.body, /container "nope" is not valid/);
  });

  it('shows kubectl the provider\'s reason when it cannot serve the logs asked for, as the kubelet does', async () => {
    // A 400 with the reason, as the kubelet answers: the API server replaces a 404's or 503's text with its own.
    const previous = await env.kubectl('-n', NS, 'logs', 'talker', '--previous').then(() => undefined, (e: Error & { stderr: string }) => e);
    assert.ok(previous, 'kubectl logs --previous fails: the container never restarted');
    assert.match(previous.stderr, /previous terminated container "app" in pod "logs\/talker" not found/);
  });

  it('streams new lines with kubectl logs -f and ends when the container ends', async () => {
    const child = spawn('kubectl', ['--kubeconfig', env.controlPlane.kubeconfigPath, '-n', NS, 'logs', '-f', 'talker', '--tail=0']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    const ended = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const ref = { namespace: NS, name: 'talker', uid };
    await waitFor('first streamed line', () => {
      env.mock.backend.appendLog(ref, 'app', ['streamed']);
      return out.includes('streamed');
    }, { intervalMs: 500 });
    env.mock.backend.exitContainer(ref, 'app', 0);
    assert.equal(await ended, 0, 'kubectl logs -f exits when the container ends');
    assert.match(out, /streamed\n/);
  });
});
