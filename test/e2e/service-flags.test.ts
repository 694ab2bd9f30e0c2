import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ServiceProcess, serviceBundle } from '@vk-ts/testbed';
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
      '--kube-api-qps: must be a number >= -1, got "fifty"',
      '--kube-api-burst: must be an integer >= 1, got "-3"',
      `--provider-config.endpoint: "${env.mockUrl}/prefix" must be http://host[:port] with no path`,
    ]);
  });

  it('node-agent and kubelet-api exit 2 naming a port that is not one', async () => {
    assertNames(await refused(ServiceProcess.start('node-agent', ['--nodename', 'flags-bad', '--no-pod-watcher', '--health-port', 'abc'], { VKUBELET_PROVIDER_CONFIG: '' })), [
      '--health-port: must be an integer from 0 to 65535, got "abc"',
    ]);
    assertNames(await refused(ServiceProcess.start('kubelet-api', ['--nodename', 'flags-bad', '--port', '-1', '--health-port', '10248x'])), [
      '--port: must be an integer from 0 to 65535, got "-1"',
      '--health-port: must be an integer from 0 to 65535, got "10248x"',
    ]);
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
