import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, waitFor } from '@vk-ts/testbed';

const run = promisify(execFile);

describe('npm run dev:up / dev:down', () => {
  it('brings up a stack whose kubeconfig answers /readyz, runs a pod on the virtual node and serves its kubectl logs, and dev:down leaves no process behind', async function () {
    this.timeout(240_000);
    // Offline: npm test has installed everything already, and a test never reaches a registry.
    await run('npm', ['run', 'dev:up'], { cwd: REPO_ROOT, timeout: 200_000, env: { ...process.env, VK_OFFLINE: '1', VK_DEV_NODE_NAME: 'vk-mock' } });
    const stackPid = Number((await run('cat', [join(REPO_ROOT, '.dev/stack.pid')])).stdout.trim());
    try {
      const kubectl = async (...args: string[]): Promise<string> => (await run('kubectl', ['--kubeconfig', join(REPO_ROOT, '.dev/kubeconfig'), ...args])).stdout;
      assert.equal((await kubectl('get', '--raw', '/readyz')).trim(), 'ok');
      // The quick start's promise: a pod on the virtual node runs, and kubectl logs reaches it through kubelet-api.
      await kubectl('run', 'hello', '--image=busybox', '--restart=Never', '--overrides',
        JSON.stringify({ spec: { nodeName: 'vk-mock', tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }] } }));
      await waitFor('pod hello Running', async () => (await kubectl('get', 'pod', 'hello', '-o', 'jsonpath={.status.phase}')) === 'Running', { timeoutMs: 60_000 });
      assert.match(await kubectl('logs', 'hello'), /mock: started container hello \(busybox\)/);
    } finally {
      await run('npm', ['run', 'dev:down'], { cwd: REPO_ROOT, timeout: 60_000 });
    }
    const left = await run('pgrep', ['-g', String(stackPid)]).then((r) => r.stdout.trim(), () => '');
    assert.equal(left, '', 'no process of the stack is left');
  });
});
