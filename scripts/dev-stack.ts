// The local stack of `npm run dev`: a real control plane, a real Redis and the
// three services with the mock provider, all on loopback. Ctrl-C (or SIGTERM
// from `npm run dev:down`) stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceV8Flags } from '@vk-ts/core';
import { MockBackendServer } from '@vk-ts/provider-mock';
import { ControlPlane, REPO_ROOT, RedisServer, freePort, issueServingCert, serviceBundle, stopChild, waitFor, type BundleName } from '@vk-ts/testbed';

const devDir = join(REPO_ROOT, '.dev');
const kubeconfig = join(devDir, 'kubeconfig');
const nodeName = process.env.VK_DEV_NODE_NAME ?? 'vk-mock';
const children: { name: string; child: ChildProcess }[] = [];
let controlPlane: ControlPlane | undefined;
let redis: RedisServer | undefined;
const mockBackend = new MockBackendServer();
let stopping = false;

function say(message: string): void {
  process.stdout.write(`[vk dev] ${message}\n`);
}

function startService(name: Exclude<BundleName, 'mock-backend'>, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [...serviceV8Flags(name), serviceBundle(name), ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${code ?? signal}); stopping the stack`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping');
  await Promise.all(children.map(({ child }) => stopChild(child, 10_000)));
  await redis?.close();
  await mockBackend.close();
  await controlPlane?.close();
  rmSync(join(devDir, 'ready'), { force: true });
  rmSync(kubeconfig, { force: true });
  say('stopped');
  process.exit(exitCode);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  say('starting the control plane (etcd, kube-apiserver, controller manager, scheduler)');
  controlPlane = await ControlPlane.start({ dataDir: join(devDir, 'controlplane') });
  copyFileSync(controlPlane.kubeconfigPath, kubeconfig);
  say(`control plane ready in ${controlPlane.startupMs} ms at ${controlPlane.server}`);
  redis = await RedisServer.start();
  say(`redis ready at ${redis.url}`);

  // The mock provider's backend (the stand-in for a cloud) runs inside this process.
  const mockUrl = await mockBackend.listen(0);
  const providerConfig = join(devDir, 'mock-provider.toml');
  writeFileSync(providerConfig, `endpoint = "${mockUrl}"\n`);
  say(`mock backend at ${mockUrl}`);

  const kubeletPort = await freePort();
  const common = ['--kubeconfig', kubeconfig, '--redis-url', redis.url];
  startService('node-agent', [...common, '--nodename', nodeName, '--provider', 'mock', '--provider-config', providerConfig,
    '--internal-ip', '127.0.0.1', '--kubelet-port', String(kubeletPort), '--health-port', String(await freePort())]);
  startService('pod-worker', [...common, '--nodename', nodeName, '--provider', 'mock', '--provider-config', providerConfig, '--health-port', String(await freePort())]);
  // kubelet-api serves the node's kubelet port (kubectl logs, top, nodes/proxy) with a certificate the
  // cluster CA signs here: the dev stack holds the CA key, where a cluster would approve a CSR.
  const serving = await issueServingCert({ pkiDir: controlPlane.pkiDir, dir: devDir, nodeName, days: 365 });
  const kubeletApiHealth = await freePort();
  startService('kubelet-api', ['--kubeconfig', kubeconfig, '--nodename', nodeName, '--provider', 'mock', '--provider-config', providerConfig,
    '--host', '127.0.0.1', '--port', String(kubeletPort), '--tls-cert-file', serving.cert, '--tls-key-file', serving.key, '--health-port', String(kubeletApiHealth)]);
  // Ready only once kubelet-api serves the kubelet port (its /readyz says so): before, the stack could say it was up
  // while kubectl logs was still refused.
  await waitFor('kubelet-api ready', async () => (await fetch(`http://127.0.0.1:${kubeletApiHealth}/readyz`).catch(() => undefined))?.ok === true, { timeoutMs: 60_000 });

  const banner = [
    '',
    'virtual-kubelet-ts dev stack is up (mock provider).',
    `  kubeconfig: ${kubeconfig}`,
    '  try:',
    `    kubectl --kubeconfig ${kubeconfig} get nodes -o wide`,
    `    kubectl --kubeconfig ${kubeconfig} create deployment web --image=nginx --replicas=3 && kubectl --kubeconfig ${kubeconfig} patch deployment web -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/role":"agent"},"tolerations":[{"key":"virtual-kubelet.io/provider","operator":"Exists"}]}}}}'`,
    `    kubectl --kubeconfig ${kubeconfig} get pods -o wide -w`,
    `    kubectl --kubeconfig ${kubeconfig} logs deployment/web`,
    '',
  ].join('\n');
  writeFileSync(join(devDir, 'ready'), `${banner}\n`);
  say(banner);
} catch (err) {
  say(`start-up failed: ${(err as Error).message}`);
  await stop(1);
}
