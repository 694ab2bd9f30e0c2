import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { LoopbackAlias, ServiceProcess, freePort, issueServingCert, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const NODE = 'kapi-node';
const NS = 'kapi';

interface Summary {
  node: { nodeName: string; startTime: string; cpu?: { usageCoreNanoSeconds?: number }; memory?: { workingSetBytes?: number } };
  pods: { podRef: { name: string; namespace: string; uid: string }; containers: { name: string; startTime: string; cpu?: { usageNanoCores?: number; usageCoreNanoSeconds?: number }; memory?: { workingSetBytes?: number } }[] }[];
}

describe('kubelet-api: the kubelet\'s TLS, authentication, authorization, stats and metrics', function () {
  this.timeout(120_000);
  const running: ServiceProcess[] = [];
  let alias: LoopbackAlias | undefined;
  let skipProxyReason = '';
  let host = '127.0.0.1';
  let port = 0;
  let uid = '';
  let certFiles = { cert: '', key: '' };
  let dir = '';
  let api: ServiceProcess;
  const pki = (): string => env.controlPlane.pkiDir;

  /** Straight to kubelet-api over TLS, as the given caller. */
  function direct(path: string, as: { token?: string; apiserverCert?: boolean; at?: { host: string; port: number } } = {}): Promise<{ status: number; body: string; serial: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({
        host: as.at?.host ?? host, port: as.at?.port ?? port, path, method: 'GET', ca: readFileSync(join(pki(), 'ca.crt')), servername: undefined, agent: false,
        headers: as.token ? { authorization: `Bearer ${as.token}` } : {},
        ...(as.apiserverCert ? { cert: readFileSync(join(pki(), 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki(), 'apiserver-kubelet-client.key')) } : {}),
      }, (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  before(async function () {
    this.timeout(180_000);
    const added = await LoopbackAlias.add();
    if (added instanceof LoopbackAlias) {
      alias = added;
      host = alias.address;
    } else {
      skipProxyReason = added.skipReason;
    }
    dir = mkdtempSync(join(tmpdir(), 'vk-kapi-'));
    const cfg = join(dir, 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const first = await issueServingCert({ pkiDir: env.controlPlane.pkiDir, dir, nodeName: NODE, ips: [...new Set(['127.0.0.1', host])], serial: 'a1' });
    certFiles = { cert: join(dir, 'serving.crt'), key: join(dir, 'serving.key') };
    writeFileSync(certFiles.cert, readFileSync(first.cert));
    writeFileSync(certFiles.key, readFileSync(first.key));
    port = await freePort();
    const common = ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', NODE, '--provider-config', cfg];
    // Switches set to off through the environment, as a chart or compose file writes them: they must stay off (the 401 test below).
    api = ServiceProcess.start('kubelet-api', [...common, '--host', host, '--port', String(port), '--health-port', '0',
      '--tls-cert-file', certFiles.cert, '--tls-key-file', certFiles.key], { KUBELET_API_INSECURE_NO_AUTH: 'false', KUBELET_API_ANONYMOUS_AUTH: 'false' });
    running.push(api,
      ServiceProcess.start('node-agent', [...common, '--redis-url', env.redis.url, '--internal-ip', host, '--kubelet-port', String(port), '--health-port', '0']),
      ServiceProcess.start('pod-worker', [...common, '--redis-url', env.redis.url, '--health-port', '0']));
    await api.waitForOutput(/Server listening/);
    await env.kubectl('create', 'namespace', NS);
    await waitFor('node Ready', async () => (await env.kubectl('get', 'node', NODE, '--no-headers')).includes(' Ready '));
    await waitFor('default service account', () => env.kubectl('-n', NS, 'get', 'sa', 'default').then(() => true));
    await env.client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stats' },
      spec: {
        nodeName: NODE, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }],
        containers: [{ name: 'app', image: 'busybox' }, { name: 'sidecar', image: 'busybox' }],
      },
    });
    uid = await waitFor('pod Running', async () => {
      const p = await env.client.get<{ metadata: { uid: string }; status: { phase?: string } }>(`/api/v1/namespaces/${NS}/pods/stats`);
      return p.status.phase === 'Running' ? p.metadata.uid : undefined;
    });
    env.mock.backend.setUsage({ namespace: NS, name: 'stats', uid }, 'app', { cpuNanoCores: 250_000_000, memoryBytes: 64 * 1024 * 1024 });
  });

  after(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    await alias?.remove();
  });

  describe('through the API server\'s node proxy', () => {
    beforeEach(function () {
      if (skipProxyReason) this.skip();
    });

    it('serves /stats/summary listing the test pod and each of its containers, with CPU that grows', async () => {
      const raw = async (): Promise<Summary> => JSON.parse(await env.kubectl('get', '--raw', `/api/v1/nodes/${NODE}/proxy/stats/summary`)) as Summary;
      const first = await raw();
      assert.equal(first.node.nodeName, NODE);
      assert.ok(first.node.startTime);
      const pod = first.pods.find((p) => p.podRef.uid === uid);
      assert.ok(pod, 'the test pod is listed');
      assert.deepEqual(pod.podRef, { name: 'stats', namespace: NS, uid });
      assert.deepEqual(pod.containers.map((c) => c.name).sort(), ['app', 'sidecar']);
      const app = pod.containers.find((c) => c.name === 'app')!;
      assert.equal(app.cpu?.usageNanoCores, 250_000_000);
      assert.equal(app.memory?.workingSetBytes, 64 * 1024 * 1024);
      const before = app.cpu?.usageCoreNanoSeconds ?? 0;
      await waitFor('cumulative CPU to grow', async () => {
        const again = (await raw()).pods.find((p) => p.podRef.uid === uid)?.containers.find((c) => c.name === 'app');
        return (again?.cpu?.usageCoreNanoSeconds ?? 0) > before;
      });
    });

    it('serves /metrics/resource in the kubelet\'s format, with a sample for each container', async () => {
      const text = await env.kubectl('get', '--raw', `/api/v1/nodes/${NODE}/proxy/metrics/resource`);
      for (const c of ['app', 'sidecar']) {
        const labels = `{container="${c}",namespace="${NS}",pod="stats"}`;
        assert.match(text, new RegExp(`^container_cpu_usage_seconds_total${escape(labels)} [0-9.e+-]+ \\d+$`, 'm'));
        assert.match(text, new RegExp(`^container_memory_working_set_bytes${escape(labels)} \\d+ \\d+$`, 'm'));
        assert.match(text, new RegExp(`^container_start_time_seconds${escape(labels)} [0-9.e+]+ \\d+$`, 'm'));
      }
      assert.match(text, new RegExp(`^pod_cpu_usage_seconds_total${escape(`{namespace="${NS}",pod="stats"}`)} `, 'm'));
      assert.match(text, /^node_cpu_usage_seconds_total [0-9.e+-]+ \d+$/m);
      assert.match(text, /^node_memory_working_set_bytes \d+ \d+$/m);
      assert.match(text, /^# TYPE container_cpu_usage_seconds_total counter$/m);
      assert.match(text, /^scrape_error 0$/m);
    });

    it('answers kubectl exec, attach and port-forward with a 501 saying they are not built, which kubectl shows', async () => {
      const failure = (args: string[]): Promise<string> => env.kubectl(...args).then(
        (out) => assert.fail(`kubectl ${args.join(' ')} succeeded: ${out}`),
        (err: Error & { stderr?: string }) => `${err.stderr ?? ''}${err.message}`,
      );
      assert.match(await failure(['-n', NS, 'exec', 'stats', '-c', 'app', '--', 'true']), /exec is not supported by this virtual kubelet yet/);
      assert.match(await failure(['-n', NS, 'attach', 'stats', '-c', 'app']), /attach is not supported by this virtual kubelet yet/);
      assert.match(await failure(['-n', NS, 'port-forward', 'pod/stats', '0:80']), /port-forward is not supported by this virtual kubelet yet/);
    });

    it('serves /pods from the API server\'s view and /runningpods/ from the provider', async () => {
      const pods = JSON.parse(await env.kubectl('get', '--raw', `/api/v1/nodes/${NODE}/proxy/pods`)) as { kind: string; items: { metadata: { uid: string } }[] };
      assert.equal(pods.kind, 'PodList');
      assert.ok(pods.items.some((p) => p.metadata.uid === uid));
      const runningPods = JSON.parse(await env.kubectl('get', '--raw', `/api/v1/nodes/${NODE}/proxy/runningpods/`)) as { items: { metadata: { uid: string }; spec: { containers: { name: string }[] } }[] };
      const mine = runningPods.items.find((p) => p.metadata.uid === uid);
      assert.deepEqual(mine?.spec.containers.map((c) => c.name).sort(), ['app', 'sidecar']);
    });
  });

  describe('straight to kubelet-api', () => {
    it('answers 401 without credentials and with a token the API server does not know', async () => {
      const none = await direct('/stats/summary');
      assert.equal(none.status, 401);
      assert.equal(none.body, 'Unauthorized\n');
      assert.equal((await direct('/stats/summary', { token: 'not-a-real-token' })).status, 401);
      assert.equal((await direct('/no/such/path')).status, 401, 'unknown paths are not revealed to strangers');
    });

    it('answers 403 in the kubelet\'s words to a service account without nodes permissions, and serves exactly what RBAC grants', async () => {
      await env.kubectl('-n', NS, 'create', 'serviceaccount', 'nobody');
      await env.kubectl('-n', NS, 'create', 'serviceaccount', 'stats-reader');
      await env.kubectl('create', 'clusterrole', 'kapi-node-stats', '--verb=get', '--resource=nodes/stats');
      await env.kubectl('create', 'clusterrolebinding', 'kapi-node-stats', '--clusterrole=kapi-node-stats', `--serviceaccount=${NS}:stats-reader`);
      const nobody = (await env.kubectl('-n', NS, 'create', 'token', 'nobody')).trim();
      const reader = (await env.kubectl('-n', NS, 'create', 'token', 'stats-reader')).trim();

      const denied = await direct('/stats/summary', { token: nobody });
      assert.equal(denied.status, 403);
      assert.equal(denied.body, `Forbidden (user=system:serviceaccount:${NS}:nobody, verb=get, resource=nodes, subresource(s)=[stats])\n`);
      const logs = await direct(`/containerLogs/${NS}/stats/app`, { token: nobody });
      assert.equal(logs.status, 403);
      assert.match(logs.body, /subresource\(s\)=\[proxy\]/);

      const allowed = await waitFor('RBAC to allow the reader', async () => {
        const r = await direct('/stats/summary', { token: reader });
        return r.status === 200 ? r : undefined;
      });
      assert.ok((JSON.parse(allowed.body) as Summary).pods.some((p) => p.podRef.uid === uid));
      assert.equal((await direct(`/containerLogs/${NS}/stats/app`, { token: reader })).status, 403, 'nodes/stats does not grant logs (nodes/proxy)');
    });

    it('accepts the API server\'s kubelet client certificate', async () => {
      const res = await direct('/pods', { apiserverCert: true });
      assert.equal(res.status, 200);
      assert.ok((JSON.parse(res.body) as { items: { metadata: { uid: string } }[] }).items.some((p) => p.metadata.uid === uid));
      assert.equal((await direct('/no/such/path', { apiserverCert: true })).status, 404);
    });

    it('answers exec, attach, port-forward and run with 501 and what is missing, and a stranger with 401', async () => {
      for (const [path, what] of [[`/exec/${NS}/stats/app?command=true`, 'exec'], [`/attach/${NS}/stats/${uid}/app`, 'attach'], [`/portForward/${NS}/stats`, 'port-forward'], [`/run/${NS}/stats/app`, 'run']] as const) {
        const res = await direct(path, { apiserverCert: true });
        assert.equal(res.status, 501, path);
        assert.match(res.body, new RegExp(`^${what} is not supported by this virtual kubelet yet`), path);
      }
      assert.equal((await direct(`/exec/${NS}/stats/app`)).status, 401, 'a stranger learns nothing');
    });

    it('serves a new certificate once its files change on disk, without a restart', async () => {
      assert.equal((await direct('/healthz', { apiserverCert: true })).serial.toLowerCase(), 'a1');
      const next = await issueServingCert({ pkiDir: env.controlPlane.pkiDir, dir, nodeName: NODE, ips: [...new Set(['127.0.0.1', host])], serial: 'b2' });
      // As a Secret volume does it: new files appear by rename, key first.
      writeFileSync(`${certFiles.key}.new`, readFileSync(next.key));
      writeFileSync(`${certFiles.cert}.new`, readFileSync(next.cert));
      renameSync(`${certFiles.key}.new`, certFiles.key);
      renameSync(`${certFiles.cert}.new`, certFiles.cert);
      await waitFor('the new serving certificate', async () => (await direct('/healthz', { apiserverCert: true })).serial.toLowerCase() === 'b2');
      await api.waitForOutput(/serving certificate reloaded from disk/);
    });

    it('holds 80 concurrent logs -f streams, and releases every provider stream once the clients go', async () => {
      const key = `log:${NS}/stats/${uid}/app`;
      const before = env.mock.backend.events.listenerCount(key);
      let arrived = 0;
      const requests = Array.from({ length: 80 }, () => {
        const req = httpsRequest({
          host, port, path: `/containerLogs/${NS}/stats/app?follow=true&tailLines=0`, agent: false, ca: readFileSync(join(pki(), 'ca.crt')),
          cert: readFileSync(join(pki(), 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki(), 'apiserver-kubelet-client.key')),
        }, (res) => {
          res.once('data', () => { arrived += 1; });
          res.resume();
        });
        req.on('error', () => undefined);
        req.end();
        return req;
      });
      await waitFor('a line on every stream', () => {
        env.mock.backend.appendLog({ namespace: NS, name: 'stats', uid }, 'app', ['to everyone']);
        return arrived === 80;
      }, { intervalMs: 300 });
      for (const req of requests) req.destroy();
      await waitFor('every provider stream released', () => env.mock.backend.events.listenerCount(key) === before);
    });

    it('is stateless: a second replica serves the same pods, running pods and stats', async () => {
      const second = { host: '127.0.0.1', port: await freePort() };
      const replica = ServiceProcess.start('kubelet-api', ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', NODE, '--provider-config', join(dir, 'mock.toml'),
        '--host', second.host, '--port', String(second.port), '--health-port', '0', '--tls-cert-file', certFiles.cert, '--tls-key-file', certFiles.key]);
      running.push(replica);
      await replica.waitForOutput(/Server listening/);
      const podUids = (body: string) => (JSON.parse(body) as { items: { metadata: { uid: string } }[] }).items.map((p) => p.metadata.uid).sort();
      const statPods = (body: string) => (JSON.parse(body) as { pods: { podRef: { uid: string }; containers: { name: string }[] }[] }).pods
        .map((p) => `${p.podRef.uid}:${p.containers.map((c) => c.name).sort().join(',')}`).sort();
      for (const [path, view] of [['/pods', podUids], ['/runningpods/', podUids], ['/stats/summary', statPods]] as const) {
        const [a, b] = await Promise.all([direct(path, { apiserverCert: true }), direct(path, { apiserverCert: true, at: second })]);
        assert.equal(a.status, 200, path);
        assert.equal(b.status, 200, path);
        assert.deepEqual(view(b.body), view(a.body), `${path} differs between replicas`);
        assert.ok(view(a.body).some((x) => x.startsWith(uid)), `${path} lists the test pod`);
      }
      await replica.stop();
    });

    it('with --insecure-no-auth serves callers without credentials and says so loudly in the log', async () => {
      const cfg = join(dir, 'mock.toml');
      const insecurePort = await freePort();
      const insecure = ServiceProcess.start('kubelet-api', ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', NODE, '--provider-config', cfg,
        '--host', '127.0.0.1', '--port', String(insecurePort), '--health-port', '0', '--tls-cert-file', certFiles.cert, '--tls-key-file', certFiles.key, '--insecure-no-auth']);
      running.push(insecure);
      await insecure.waitForOutput(/Server listening/);
      assert.match(insecure.output, /"level":40.*INSECURE: --insecure-no-auth is set/);
      const status = await new Promise<number>((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port: insecurePort, path: '/pods', ca: readFileSync(join(pki(), 'ca.crt')), agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
      assert.equal(status, 200);
      await insecure.stop();
    });

    it('survives raw requests with bad bytes, huge lines and traversal, and still serves afterwards', async () => {
      const tls = (): Promise<TLSSocket> => new Promise((resolve, reject) => {
        const s = tlsConnect({
          host, port, ca: readFileSync(join(pki(), 'ca.crt')),
          cert: readFileSync(join(pki(), 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki(), 'apiserver-kubelet-client.key')),
        }, () => resolve(s));
        s.on('error', reject);
      });
      const lines: Buffer[] = [
        Buffer.from([...Buffer.from('GET /containerLogs/'), 0xff, 0xfe, 0xc0, 0xaf, ...Buffer.from('/x/y HTTP/1.1\r\nHost: a\r\n\r\n')]),
        Buffer.from(`GET /containerLogs/${NS}/stats/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: a\r\n\r\n`),
        Buffer.from(`GET /containerLogs/${NS}/stats/app?tailLines=${'9'.repeat(200_000)} HTTP/1.1\r\nHost: a\r\n\r\n`),
        Buffer.from(`GET /${'a/'.repeat(50_000)} HTTP/1.1\r\nHost: a\r\n\r\n`),
        Buffer.from('GET /stats/summary\x00 HTTP/1.1\r\nHost: a\r\n\r\n'),
        Buffer.from('\x16\x03\x01garbage\r\n\r\n'),
      ];
      for (const line of lines) {
        const socket = await tls();
        await new Promise<void>((resolve) => {
          socket.on('data', () => undefined);
          socket.on('close', () => resolve());
          socket.on('error', () => resolve());
          socket.end(line);
        });
      }
      assert.equal(api.child.exitCode, null, 'kubelet-api is still running');
      assert.equal((await direct('/stats/summary', { apiserverCert: true })).status, 200);
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

