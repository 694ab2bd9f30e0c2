#!/usr/bin/env node
// Composition root of node-agent: the only place that reads the environment.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import {
  HealthServer, KubeRestClient, LOG_LEVELS, PROJECT_VERSION, createLogger, createMetricsRegistry,
  installGracefulShutdown, loadKubeConfig, inClusterServer, type Logger,
} from '@vk-ts/core';
import { resolveAgentSettings, type AgentSettings, type RawAgentFlags } from './agent-config.ts';
import { NodeAgent } from './node-agent.ts';

const program = new Command('vk-node-agent')
  .description('Registers the virtual Node(s), keeps their status and heartbeats, and watches their pods.')
  .version(PROJECT_VERSION)
  .addOption(new Option('--config <file>', 'TOML file listing several virtual nodes ([[nodes]] tables with the per-node keys below); per-node flags become defaults').env('VKUBELET_CONFIG'))
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig file; in-cluster service account when absent').env('KUBECONFIG'))
  .addOption(new Option('--nodename <name>', 'name of the virtual node').default('virtual-kubelet').env('DEFAULT_NODE_NAME'))
  .addOption(new Option('--os <os>', 'operating system of the node: Linux or Windows').default('Linux').env('VKUBELET_OS'))
  .addOption(new Option('--provider <name>', 'provider that runs the pods: mock').default('mock').env('VKUBELET_PROVIDER'))
  .addOption(new Option('--provider-config <file>', 'provider config file (TOML); required (the mock needs its endpoint)').env('VKUBELET_PROVIDER_CONFIG'))
  .addOption(new Option('--taint <key|key=value:Effect>', 'taint key, or a whole taint; default virtual-kubelet.io/provider=<provider>:NoSchedule').env('VKUBELET_TAINT_KEY'))
  .addOption(new Option('--taint-value <value>', 'taint value (default: the provider name)').env('VKUBELET_TAINT_VALUE'))
  .addOption(new Option('--taint-effect <effect>', 'taint effect: NoSchedule, NoExecute or PreferNoSchedule (default: NoSchedule)').env('VKUBELET_TAINT_EFFECT'))
  .addOption(new Option('--disable-taint [true|false]', 'register the node without a taint').preset(true).env('VKUBELET_DISABLE_TAINT'))
  .addOption(new Option('--node-labels <k=v,...>', 'extra node labels').env('VKUBELET_NODE_LABELS'))
  .addOption(new Option('--internal-ip <ip>', 'the node\'s InternalIP: where the API server reaches kubelet-api').default('127.0.0.1').env('VKUBELET_POD_IP'))
  .addOption(new Option('--kubelet-port <port>', 'kubelet-api port published as the node\'s daemon endpoint').default(10250).env('KUBELET_PORT'))
  .addOption(new Option('--cluster-domain <domain>', 'cluster DNS domain; accepted, not used yet (the mock provider has no DNS to configure)').default('cluster.local').env('VKUBELET_CLUSTER_DOMAIN'))
  .addOption(new Option('--startup-timeout <duration>', 'exit 1 if the node is not registered within this time, e.g. 30s or 2m (0 = wait forever; with --leader-elect, counted from when this replica leads)').default('0').env('VKUBELET_STARTUP_TIMEOUT'))
  .addOption(new Option('--kube-api-qps <qps>', 'client-side QPS limit towards the API server (<= 0: none)').default(50).env('VKUBELET_KUBE_API_QPS'))
  .addOption(new Option('--kube-api-burst <n>', 'client-side burst towards the API server').default(100).env('VKUBELET_KUBE_API_BURST'))
  .addOption(new Option('--node-lease-duration-seconds <s>', 'duration of the node Lease in kube-node-lease').default(40).env('VKUBELET_NODE_LEASE_DURATION_SECONDS'))
  .addOption(new Option('--node-lease-renew-interval-seconds <s>', 'how often the node Lease is renewed').default(10).env('VKUBELET_NODE_LEASE_RENEW_INTERVAL_SECONDS'))
  .addOption(new Option('--node-status-update-interval-seconds <s>', 'how often the full node status is posted').default(60).env('VKUBELET_NODE_STATUS_UPDATE_INTERVAL_SECONDS'))
  .addOption(new Option('--leader-elect [true|false]', 'run leader election so that extra replicas are hot standbys').preset(true).env('VKUBELET_LEADER_ELECT'))
  .addOption(new Option('--leader-election-namespace <ns>', 'namespace of the leader election Lease').default('kube-system').env('VKUBELET_LEADER_ELECTION_NAMESPACE'))
  .addOption(new Option('--leader-election-name <name>', 'name of the leader election Lease (one per node-agent deployment)').default('vk-node-agent').env('VKUBELET_LEADER_ELECTION_NAME'))
  .addOption(new Option('--leader-election-lease-duration <s>', 'seconds a standby waits before taking over').default(15).env('VKUBELET_LEADER_ELECTION_LEASE_DURATION'))
  .addOption(new Option('--leader-election-renew-deadline <s>', 'seconds the leader keeps trying to renew before it stops leading').default(10).env('VKUBELET_LEADER_ELECTION_RENEW_DEADLINE'))
  .addOption(new Option('--leader-election-retry-period <s>', 'seconds between leader election attempts').default(2).env('VKUBELET_LEADER_ELECTION_RETRY_PERIOD'))
  .addOption(new Option('--identity <id>', 'identity in leader election').default(`${hostname()}_${randomBytes(4).toString('hex')}`).env('POD_NAME'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL'))
  .addOption(new Option('--health-host <host>', 'address of the /healthz, /readyz and /metrics server').default('0.0.0.0').env('VKUBELET_HEALTH_HOST'))
  .addOption(new Option('--health-port <port>', 'port of the /healthz, /readyz and /metrics server (0 = any free port)').default(8080).env('VKUBELET_HEALTH_PORT'))
  .addOption(new Option('--redis-url <url>', 'Redis holding the work queue (used by the pod watcher)').default('redis://127.0.0.1:6379').env('REDIS_URL'))
  .addOption(new Option('--no-pod-watcher', 'only keep the node(s); do not watch pods or use Redis'))
  .addOption(new Option('--resync-interval-seconds <s>', 'how often a node resync job runs: pods whose work was lost get a pass, orphan provider pods are deleted').default(60).env('VKUBELET_RESYNC_INTERVAL_SECONDS'))
  .addOption(new Option('--status-sync-interval-seconds <s>', 'how often a worker polls the provider for all pods\' state in one call (0 = off)').default(5).env('VKUBELET_STATUS_SYNC_INTERVAL_SECONDS'))
  .showHelpAfterError();
program.parse();
const flags = program.opts<RawAgentFlags & { logLevel: 'info'; healthHost: string; identity: string; redisUrl: string; podWatcher: boolean }>();

const logger = createLogger({ service: 'node-agent', level: flags.logLevel });
let settings: AgentSettings;
try {
  settings = resolveAgentSettings(flags);
} catch (err) {
  process.stderr.write(`vk-node-agent: ${(err as Error).message}\n`);
  process.exit(2);
}
await run(logger);

async function run(log: Logger): Promise<void> {
  const registry = createMetricsRegistry('node-agent');
  let client: KubeRestClient;
  try {
    client = await KubeRestClient.create({
      kubeConfig: loadKubeConfig({ kubeconfigPath: settings.kubeconfig, inClusterServer: inClusterServer(process.env['KUBERNETES_SERVICE_HOST'], process.env['KUBERNETES_SERVICE_PORT']) }),
      qps: settings.kubeApiQps, burst: settings.kubeApiBurst,
      userAgent: `virtual-kubelet-ts/${PROJECT_VERSION} node-agent`, registry,
    });
  } catch (err) {
    process.stderr.write(`vk-node-agent: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const agent = new NodeAgent({
    settings, client, logger: log, identity: flags.identity, registry,
    redisUrl: flags.podWatcher ? flags.redisUrl : undefined, resyncIntervalMs: settings.resyncIntervalSeconds * 1000,
    statusSyncIntervalMs: settings.statusSyncIntervalSeconds * 1000,
  });
  const health = new HealthServer({ host: flags.healthHost, port: settings.healthPort, registry, readiness: { nodes: () => agent.ready, redis: () => agent.queueReachable }, logger: log });
  installGracefulShutdown({
    logger: log,
    timeoutMs: 10_000,
    close: async () => {
      await agent.close();
      await health.close();
      client.close();
    },
  });
  await health.start();
  agent.start();
  log.info({ nodes: settings.nodes.map((n) => n.name), leaderElection: settings.leaderElection.enabled }, 'node-agent started');
  if (settings.startupTimeoutMs > 0) {
    // A standby registers nothing, so its time to register starts when it first leads.
    await agent.whenLeading();
    const timer = setTimeout(() => {
      log.fatal({ startupTimeoutMs: settings.startupTimeoutMs }, 'nodes not registered within --startup-timeout');
      process.exit(1);
    }, settings.startupTimeoutMs);
    await agent.whenRegistered();
    clearTimeout(timer);
  }
}
