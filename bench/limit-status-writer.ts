// The "limit" peer of the pod benchmarks: the least work a kubelet must do,
// so its throughput is the API server's ceiling for this job on this machine.
// It registers a Node (Ready) and renews its Lease; watches the node's pods;
// PATCHes each new pod's status straight to Running (one write); DELETEs each
// pod marked for deletion with grace 0 (one write). No provider, no queue, no
// client-side throttle, at most --concurrency requests in flight.
// Two variants measure what a design choice costs the API server (system ids
// limit-watch2 and limit-get in pod-bench.ts):
//   --second-watch      also keeps a metadata-only watch of the same pods and
//                       only follows it (ours has two watchers: node-agent and pod-worker);
//   --get-before-patch  GETs each pod at the event's resourceVersion (served from
//                       the watch cache) before its PATCH (a worker without a pod cache).
// Run: node bench/limit-status-writer.ts --kubeconfig FILE --nodename NAME [--concurrency 64] [--second-watch] [--get-before-patch]
import { parseArgs } from 'node:util';
import { KubeRestClient, METADATA_ONLY, PatchType, isKubeAlreadyExists, isKubeNotFound, loadKubeConfig, type WatchEvent } from '@vk-ts/core';

interface Pod {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; deletionTimestamp?: string };
  spec: { containers: { name: string; image: string }[] };
  status?: { phase?: string };
}

const { values } = parseArgs({ options: {
  kubeconfig: { type: 'string' },
  nodename: { type: 'string', default: 'bench-limit' },
  concurrency: { type: 'string', default: '64' },
  'second-watch': { type: 'boolean', default: false },
  'get-before-patch': { type: 'boolean', default: false },
} });
const node = values.nodename;
const maxInFlight = Number(values.concurrency);
const client = await KubeRestClient.create({
  kubeConfig: loadKubeConfig({ kubeconfigPath: values.kubeconfig }), qps: 0, burst: 0, userAgent: 'bench-limit-status-writer', requestTimeoutMs: 60_000,
});

// One in-flight slot per request; pending work waits in FIFO order.
let inFlight = 0;
const queue: (() => Promise<unknown>)[] = [];
function submit(work: () => Promise<unknown>): void {
  queue.push(work);
  pump();
}
function pump(): void {
  while (inFlight < maxInFlight && queue.length > 0) {
    const work = queue.shift()!;
    inFlight++;
    void work().catch((err: unknown) => {
      if (!isKubeNotFound(err)) process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'request failed', err: (err as Error).message })}\n`);
    }).finally(() => { inFlight--; pump(); });
  }
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

async function registerNode(): Promise<void> {
  try {
    await client.create('/api/v1/nodes', {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: node, labels: { type: 'bench-limit', 'kubernetes.io/hostname': node, 'kubernetes.io/role': 'agent' } },
      spec: { taints: [{ key: 'virtual-kubelet.io/provider', value: 'limit', effect: 'NoSchedule' }] },
    });
  } catch (err) {
    if (!isKubeAlreadyExists(err)) throw err;
  }
  const t = now();
  await client.patch(`/api/v1/nodes/${node}/status`, {
    status: {
      capacity: { cpu: '100000', memory: '100000Gi', pods: '100000' },
      allocatable: { cpu: '100000', memory: '100000Gi', pods: '100000' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'BenchLimit', message: 'bench limit status writer', lastHeartbeatTime: t, lastTransitionTime: t }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    },
  }, PatchType.StrategicMerge);
}

async function renewLease(): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`;
  const renewTime = new Date().toISOString().replace('Z', '000Z');
  try {
    await client.patch(path, { spec: { renewTime } }, PatchType.Merge);
  } catch (err) {
    if (!isKubeNotFound(err)) throw err;
    await client.create('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node },
      spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime },
    });
  }
}

const patched = new Set<string>();
const deleting = new Set<string>();

function onPod(pod: Pod): void {
  const { namespace, name, uid } = pod.metadata;
  if (pod.metadata.deletionTimestamp) {
    if (deleting.has(uid)) return;
    deleting.add(uid);
    submit(() => client.delete(`/api/v1/namespaces/${namespace}/pods/${name}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } }));
    return;
  }
  if (pod.status?.phase === 'Running' || patched.has(uid)) return;
  patched.add(uid);
  const t = now();
  const conditions = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: t }));
  submit(async () => {
    if (values['get-before-patch']) await client.get(`/api/v1/namespaces/${namespace}/pods/${name}`, { query: { resourceVersion: pod.metadata.resourceVersion } });
    await client.patch(`/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    status: {
      phase: 'Running', hostIP: '127.0.0.1', podIP: '127.0.0.1', startTime: t, conditions,
      containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } } })),
    },
    }, PatchType.StrategicMerge);
  });
}

/** --second-watch: a metadata-only watch of the same pods that only follows resourceVersions (after an error, from a fresh list's). */
async function followSecondWatch(signal: AbortSignal): Promise<void> {
  const query = { fieldSelector: `spec.nodeName=${node}` };
  const listedVersion = async (): Promise<string> =>
    (await client.get<{ metadata: { resourceVersion: string } }>('/api/v1/pods', { query: { ...query, limit: 1 } })).metadata.resourceVersion;
  let rv = await listedVersion();
  while (!signal.aborted) {
    try {
      await client.watch<Pod>('/api/v1/pods', { ...query, resourceVersion: rv, allowWatchBookmarks: true }, (e) => { rv = e.object.metadata.resourceVersion; },
        signal, METADATA_ONLY.watch);
    } catch (err) {
      if (signal.aborted) return;
      process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'second watch failed, relisting', err: (err as Error).message })}\n`);
      rv = await listedVersion();
    }
  }
}

async function watchPods(signal: AbortSignal): Promise<void> {
  const query = { fieldSelector: `spec.nodeName=${node}` };
  for (;;) {
    const list = await client.get<{ metadata: { resourceVersion: string }; items: Pod[] }>('/api/v1/pods', { query });
    list.items.forEach(onPod);
    let rv = list.metadata.resourceVersion;
    try {
      for (;;) {
        await client.watch<Pod>('/api/v1/pods', { ...query, resourceVersion: rv, allowWatchBookmarks: true }, (e: WatchEvent<Pod>) => {
          rv = e.object.metadata.resourceVersion;
          if (e.type === 'ADDED' || e.type === 'MODIFIED') onPod(e.object);
        }, signal);
        if (signal.aborted) return;
      }
    } catch (err) {
      if (signal.aborted) return;
      process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'watch ended, relisting', err: (err as Error).message })}\n`);
    }
  }
}

await registerNode();
await renewLease();
const leaseTimer = setInterval(() => void renewLease().catch(() => undefined), 10_000);
const stop = new AbortController();
const watching = watchPods(stop.signal);
const second = values['second-watch'] ? followSecondWatch(stop.signal) : Promise.resolve();
process.stdout.write(`${JSON.stringify({ event: 'ready', node })}\n`);
const shutdown = (): void => {
  clearInterval(leaseTimer);
  stop.abort();
  void Promise.allSettled([watching, second]).finally(() => { client.close(); process.exit(0); });
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
