import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ServiceProcess, freePort, serviceBundle, waitFor } from '@vk-ts/testbed';
import { env } from './fixtures.ts';

const run = promisify(execFile);

/** Exit code and output of a service that must refuse its configuration. */
async function refused(service: ServiceProcess): Promise<string> {
  assert.equal(await service.exited(), 2, `${service.name} did not exit 2; output:\n${service.output}`);
  return service.output;
}

function assertNames(output: string, lines: string[]): void {
  for (const line of lines) assert.ok(output.includes(line), `names ${line}:\n${output}`);
}

describe('services given bad numbers, switches or a bad endpoint in flags and environment', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'vk-flags-'));

  it('pod-worker exits 2 naming every bad value, from flags and from the environment', async () => {
    const cfg = join(dir, 'mock-prefix.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}/prefix"\n`);
    const worker = ServiceProcess.start('pod-worker', [
      '--redis-url', env.redis.url, '--nodename', 'flags-bad', '--provider-config', cfg,
      '--health-port', '70000', '--shutdown-timeout-ms', 'soon', '--concurrency', '0', '--internal-ip', 'node-1',
    ], { VKUBELET_KUBE_API_QPS: 'fifty', VKUBELET_KUBE_API_BURST: '-3' });
    assertNames(await refused(worker), [
      '--health-port: must be an integer from 0 to 65535, got "70000"',
      '--shutdown-timeout-ms: must be an integer >= 0, got "soon"',
      '--concurrency: must be an integer >= 1, got "0"',
      '--internal-ip: "node-1" is not an IP address',
      '--kube-api-qps: must be a number (<= 0: no limit), got "fifty"',
      '--kube-api-burst: must be an integer >= 1, got "-3"',
      `--provider-config.endpoint: "${env.mockUrl}/prefix" must be http://host[:port] with no path`,
    ]);
  });

  it('node-agent and kubelet-api exit 2 naming a port that is not one', async () => {
    assertNames(await refused(ServiceProcess.start('node-agent', ['--nodename', 'flags-bad', '--no-pod-watcher', '--health-port', 'abc'], { VKUBELET_PROVIDER_CONFIG: '' })), [
      '--health-port: must be an integer from 0 to 65535, got "abc"',
    ]);
    assertNames(await refused(ServiceProcess.start('kubelet-api', ['--nodename', 'flags-bad', '--port', '-1', '--health-port', '10248x'])), [
      '--port: must be an integer from 1 to 65535, got "-1"',
      '--health-port: must be an integer from 0 to 65535, got "10248x"',
    ]);
    // The API server is told the kubelet port: "any free port" would be one it never learns.
    assertNames(await refused(ServiceProcess.start('kubelet-api', ['--nodename', 'flags-bad', '--port', '0'])), [
      '--port: must be an integer from 1 to 65535, got "0"',
    ]);
  });

  it('pod-worker takes a --kube-api-qps below -1 as no limit, as its --help says', async () => {
    const cfg = join(dir, 'mock-qps.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const port = await freePort();
    const worker = ServiceProcess.start('pod-worker', [
      '--kubeconfig', env.controlPlane.kubeconfigPath, '--redis-url', env.redis.url, '--nodename', 'flags-qps', '--provider-config', cfg,
      '--kube-api-qps', '-5', '--health-host', '127.0.0.1', '--health-port', String(port),
    ]);
    try {
      const outcome = await waitFor('pod-worker ready or exited', async () => {
        if (worker.child.exitCode !== null) return `exited ${worker.child.exitCode}`;
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true ? 'ready' : undefined;
      });
      assert.equal(outcome, 'ready', worker.output);
    } finally {
      await worker.stop();
    }
  });

  it('kubelet-api exits 2 naming a missing --provider-config, an unknown --provider and cache TTLs that are not numbers, from flags and the environment', async () => {
    const api = ServiceProcess.start('kubelet-api', ['--nodename', 'flags-bad', '--provider', 'aws', '--authorization-allowed-cache-ttl-seconds', '-1'], {
      VKUBELET_PROVIDER_CONFIG: '', KUBELET_API_AUTHENTICATION_CACHE_TTL_SECONDS: '', KUBELET_API_AUTHORIZATION_DENIED_CACHE_TTL_SECONDS: 'soon',
    });
    assertNames(await refused(api), [
      '--provider-config: none given: a provider config file (TOML) is required',
      '--provider: unknown provider "aws" (known: mock)',
      '--authentication-cache-ttl-seconds: must be a number >= 0, got ""',
      '--authorization-allowed-cache-ttl-seconds: must be a number >= 0, got "-1"',
      '--authorization-denied-cache-ttl-seconds: must be a number >= 0, got "soon"',
    ]);
    // With a provider config but an unknown provider, the provider is named, not the config.
    const cfg = join(dir, 'mock-api.toml');
    writeFileSync(cfg, `endpoint = "${env.mockUrl}"\n`);
    const unknown = await refused(ServiceProcess.start('kubelet-api', ['--nodename', 'flags-bad', '--provider', 'aws', '--provider-config', cfg]));
    assertNames(unknown, ['--provider: unknown provider "aws" (known: mock)']);
    assert.ok(!unknown.includes('--provider-config'), unknown);
  });

  it('node-agent and kubelet-api exit 2 naming a switch that is neither true nor false, from a flag or the environment', async () => {
    assertNames(await refused(ServiceProcess.start('node-agent', ['--nodename', 'flags-bad', '--no-pod-watcher', '--disable-taint=sometimes'], { VKUBELET_PROVIDER_CONFIG: '', VKUBELET_LEADER_ELECT: 'maybe' })), [
      '--disable-taint: must be true or false, got "sometimes"',
      '--leader-elect: must be true or false, got "maybe"',
    ]);
    assertNames(await refused(ServiceProcess.start('kubelet-api', ['--nodename', 'flags-bad'], { KUBELET_API_INSECURE_NO_AUTH: 'nope', KUBELET_API_ANONYMOUS_AUTH: 'enabled' })), [
      '--insecure-no-auth: must be true or false, got "nope"',
      '--anonymous-auth: must be true or false, got "enabled"',
    ]);
  });

  it('the mock backend exits 2 naming a port that is not one', async () => {
    const failed = await run(process.execPath, [serviceBundle('mock-backend'), '--port', 'seventy']).then(() => undefined, (err: { code: number; stderr: string }) => err);
    assert.ok(failed, 'the mock backend started with --port seventy');
    assert.equal(failed.code, 2);
    assertNames(failed.stderr, ['--port: must be an integer from 0 to 65535, got "seventy"']);
  });
});
