import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@vk-ts/testbed';

const run = promisify(execFile);

describe('npm run dev:up / dev:down', () => {
  it('brings up a stack whose kubeconfig answers /readyz, and dev:down leaves no process behind', async function () {
    this.timeout(240_000);
    // Offline: npm test has installed everything already, and a test never reaches a registry.
    await run('npm', ['run', 'dev:up'], { cwd: REPO_ROOT, timeout: 200_000, env: { ...process.env, VK_OFFLINE: '1' } });
    const stackPid = Number((await run('cat', [join(REPO_ROOT, '.dev/stack.pid')])).stdout.trim());
    try {
      const out = await run('kubectl', ['--kubeconfig', join(REPO_ROOT, '.dev/kubeconfig'), 'get', '--raw', '/readyz']);
      assert.equal(out.stdout.trim(), 'ok');
    } finally {
      await run('npm', ['run', 'dev:down'], { cwd: REPO_ROOT, timeout: 60_000 });
    }
    const left = await run('pgrep', ['-g', String(stackPid)]).then((r) => r.stdout.trim(), () => '');
    assert.equal(left, '', 'no process of the stack is left');
  });
});
