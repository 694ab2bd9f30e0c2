import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { delay } from '@vk-ts/core';
import { ControlPlane, ServiceProcess, freePort, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const run = promisify(execFile);
const NODE = 'kapi-renew-node';

interface Csr {
  metadata: { name: string };
  status?: { conditions?: { type: string }[] };
}

/** The serial number and start of the certificate served on host:port. */
function servedCertificate(host: string, port: number): Promise<{ serial: string; validFrom: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve({ serial: cert.serialNumber, validFrom: Date.parse(cert.valid_from) });
    });
    socket.on('error', reject);
  });
}

describe('kubelet-api serving certificate renewal', function () {
  this.timeout(300_000);
  // Its own control plane whose signer issues short-lived certificates: 2m30s, backdated 5 minutes by the
  // signer, so renewal (at 70–90 % of the lifetime) comes 15 s to 1m45s after issue.
  let cp: ControlPlane;
  const running: ServiceProcess[] = [];
  const approving = new AbortController();

  before(async function () {
    this.timeout(240_000);
    cp = await ControlPlane.start({ clusterSigningDuration: '2m30s', nodeMonitorGracePeriod: '8s' });
  });

  after(async () => {
    approving.abort();
    await Promise.all(running.splice(0).map((s) => s.stop()));
    await cp?.close();
  });

  it('requests a new certificate through a new CSR before the first expires, and serves it without a restart', async () => {
    const kubectl = async (...args: string[]): Promise<string> => (await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args])).stdout;
    const dir = mkdtempSync(join(tmpdir(), 'vk-kapi-renew-'));
    const cfg = join(dir, 'mock.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const port = await freePort();
    const common = ['--kubeconfig', cp.kubeconfigPath, '--nodename', NODE, '--provider-config', cfg];
    running.push(ServiceProcess.start('node-agent', [...common, '--no-pod-watcher', '--internal-ip', '127.0.0.1', '--kubelet-port', String(port), '--health-port', '0']));
    const api = ServiceProcess.start('kubelet-api', [...common, '--host', '127.0.0.1', '--port', String(port), '--health-port', '0', '--cert-dir', join(dir, 'certs')]);
    running.push(api);

    // The approver a cluster would run for kubelet-serving CSRs: approve every pending one of this node.
    const approved = new Set<string>();
    const approver = (async () => {
      while (!approving.signal.aborted) {
        const list = JSON.parse(await kubectl('get', 'csr', '-l', `virtual-kubelet.io/node=${NODE}`, '-o', 'json').catch(() => '{"items":[]}')) as { items: Csr[] };
        for (const csr of list.items) {
          if (approved.has(csr.metadata.name) || csr.status?.conditions?.some((c) => c.type === 'Approved')) continue;
          await kubectl('certificate', 'approve', csr.metadata.name).catch(() => '');
          approved.add(csr.metadata.name);
        }
        // A controller's poll interval, not a wait for an outcome.
        await delay(500, approving.signal);
      }
    })();

    try {
      await api.waitForOutput(/Server listening/, 60_000);
      const first = await servedCertificate('127.0.0.1', port);
      await api.waitForOutput(/serving certificate renewal scheduled/);
      const renewed = await waitFor('a renewed certificate served', async () => {
        const now = await servedCertificate('127.0.0.1', port);
        return now.serial !== first.serial ? now : undefined;
      }, { timeoutMs: 150_000, intervalMs: 1000 });
      assert.ok(renewed.validFrom >= first.validFrom, 'the new certificate is newer');
      assert.ok(approved.size >= 2, `a second CSR was created (${approved.size} approved)`);
      assert.equal(api.child.exitCode, null, 'served without a restart');
    } finally {
      approving.abort();
      await approver;
    }
  });
});
