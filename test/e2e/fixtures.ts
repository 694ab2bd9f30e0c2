// Root hooks for the end-to-end suite: one real control plane, one real Redis
// and one mock backend shared by every test file; each test uses its own node
// names and namespaces so tests never see each other's objects.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRestClient } from '@vk-ts/core';
import { MockBackendServer } from '@vk-ts/provider-mock';
import { ControlPlane, RedisServer } from '@vk-ts/testbed';

const run = promisify(execFile);

export interface E2eEnv {
  controlPlane: ControlPlane;
  redis: RedisServer;
  mock: MockBackendServer;
  mockUrl: string;
  client: KubeRestClient;
  kubectl: (...args: string[]) => Promise<string>;
}

export const env = {} as E2eEnv;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(180_000);
    // A short grace period so that "node goes NotReady" tests finish in seconds, not a minute.
    env.controlPlane = await ControlPlane.start({ nodeMonitorGracePeriod: '8s', auditLog: true });
    env.redis = await RedisServer.start();
    env.mock = new MockBackendServer();
    env.mockUrl = await env.mock.listen(0);
    const kc = new KubeConfig();
    kc.loadFromFile(env.controlPlane.kubeconfigPath);
    env.client = await KubeRestClient.create({ kubeConfig: kc, qps: 0, burst: 1, userAgent: 'vk-e2e' });
    env.kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', env.controlPlane.kubeconfigPath, ...args])).stdout;
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    env.client?.close();
    await env.mock?.close();
    await env.redis?.close();
    await env.controlPlane?.close();
  },
};
