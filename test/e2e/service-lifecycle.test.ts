import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, freePort, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe('every service', () => {
  const cases: { name: 'node-agent' | 'pod-worker' | 'kubelet-api'; args: (port: number) => string[] }[] = [
    {
      name: 'node-agent',
      args: (port) => {
        const cfg = join(mkdtempSync(join(tmpdir(), 'vk-svc-')), 'mock.toml');
        writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
        return ['--kubeconfig', env.controlPlane.kubeconfigPath, '--nodename', 'svc-lifecycle', '--provider-config', cfg, '--redis-url', env.redis.url, '--health-port', String(port)];
      },
    },
    {
      name: 'pod-worker',
      args: (port) => {
        const cfg = join(mkdtempSync(join(tmpdir(), 'vk-svc-')), 'mock.toml');
        writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
        return ['--kubeconfig', env.controlPlane.kubeconfigPath, '--redis-url', env.redis.url, '--nodename', 'svc-lifecycle', '--provider-config', cfg, '--health-port', String(port)];
      },
    },
    // Without a provider config kubelet-api runs only its plain-HTTP health server (the kubelet port needs TLS and auth).
    { name: 'kubelet-api', args: (port) => ['--health-port', String(port), '--health-host', '127.0.0.1'] },
  ];

  for (const c of cases) {
    it(`${c.name} answers /healthz, /readyz and /metrics and exits 0 within 5 s of SIGTERM`, async () => {
      const port = await freePort();
      const svc = ServiceProcess.start(c.name, c.args(port));
      try {
        const health = await waitFor(`${c.name} /healthz`, () => get(`http://127.0.0.1:${port}/healthz`));
        assert.equal(health.status, 200);
        await waitFor(`${c.name} /readyz`, async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200);
        const metrics = await get(`http://127.0.0.1:${port}/metrics`);
        assert.equal(metrics.status, 200);
        assert.match(metrics.body, /process_cpu_user_seconds_total/);
        const started = Date.now();
        svc.child.kill('SIGTERM');
        assert.equal(await svc.exited(), 0);
        assert.ok(Date.now() - started < 5000, `exited in ${Date.now() - started} ms`);
      } finally {
        await svc.stop();
      }
    });
  }
});
