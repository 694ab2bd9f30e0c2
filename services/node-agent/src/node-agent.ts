import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import {
  EventRecorder, podQueueName, untilAborted, type KubeRestClient, type Logger, type PodJobData, type Provider,
} from '@vk-ts/core';
import { createProvider } from '@vk-ts/provider-registry';
import type { AgentSettings } from './agent-config.ts';
import { LeaderElector } from './leader-election.ts';
import { NodeAgentMetrics } from './node-agent-metrics.ts';
import { NodeController } from './node-controller.ts';
import { PodWatcher } from './pod-watcher.ts';

/** How long stopping waits for the pod queues to close. */
const QUEUE_CLOSE_MS = 2000;

export interface NodeAgentOptions {
  settings: AgentSettings;
  client: KubeRestClient;
  logger: Logger;
  /** Identity in leader election, e.g. "<pod name>_<random>". */
  identity: string;
  /** Redis of the work queue; without it no pod watcher runs (node status only). */
  redisUrl?: string;
  /** How often every pod is enqueued again (lost work is rebuilt from the API server). */
  resyncIntervalMs?: number;
  /** How often the batch status sync is enqueued (0: never). */
  statusSyncIntervalMs?: number;
  /** Where the agent's metrics and its providers' calls are recorded (nowhere without it). */
  registry?: Registry;
  /** Overridable for tests; defaults to the provider registry. */
  createProvider?: typeof createProvider;
}

/**
 * The node-agent: while leading (or always, without leader election), runs
 * one NodeController per configured virtual node.
 */
export class NodeAgent {
  readonly #o: NodeAgentOptions;
  readonly #providers: Provider[];
  readonly #elector: LeaderElector | undefined;
  readonly #metrics: NodeAgentMetrics | undefined;
  #controllers: NodeController[] = [];
  #watchers: PodWatcher[] = [];
  #queues: Queue<PodJobData>[] = [];
  #redis: Redis | undefined;
  #closing: Promise<void> | undefined;
  readonly #firstLead = Promise.withResolvers<void>();

  constructor(options: NodeAgentOptions) {
    this.#o = options;
    const make = options.createProvider ?? createProvider;
    this.#providers = options.settings.nodes.map((n) => make({
      provider: n.provider, nodeName: n.name, operatingSystem: n.operatingSystem, internalIP: n.internalIP, config: n.providerConfig,
    }, { registry: options.registry }));
    this.#metrics = options.registry
      ? new NodeAgentMetrics(options.registry, { nodeNames: options.settings.nodes.map((n) => n.name), isLeader: () => this.isLeader })
      : undefined;
    const le = options.settings.leaderElection;
    if (le.enabled) {
      this.#elector = new LeaderElector({
        client: options.client,
        logger: options.logger,
        namespace: le.namespace,
        name: le.name,
        identity: options.identity,
        leaseDurationSeconds: le.leaseDurationSeconds,
        renewDeadlineSeconds: le.renewDeadlineSeconds,
        retryPeriodSeconds: le.retryPeriodSeconds,
        onStartedLeading: () => this.#lead(),
        onStoppedLeading: () => this.#stopLeading(),
      });
    }
  }

  /** Leader (or no election) and every node registered. */
  get ready(): boolean {
    if (this.#elector && !this.#elector.isLeader) return true; // a standby is healthy by being ready to take over
    return this.#controllers.length > 0 && this.#controllers.every((c) => c.registered);
  }

  /** The pod watcher's Redis answers (true without a pod watcher, and on a standby, which uses none). */
  get queueReachable(): boolean {
    return !this.#redis || this.#redis.status === 'ready';
  }

  get isLeader(): boolean {
    return this.#elector ? this.#elector.isLeader : true;
  }

  start(): void {
    if (this.#elector) this.#elector.start();
    else this.#lead();
  }

  /** Resolves when this replica first leads (at once without leader election, after start()). */
  whenLeading(): Promise<void> {
    return this.#firstLead.promise;
  }

  /** Resolves once every node is registered (only meaningful while leading). */
  async whenRegistered(): Promise<void> {
    await Promise.all(this.#controllers.map((c) => c.whenRegistered()));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#elector) await this.#elector.close();
      else await this.#stopLeading();
      await Promise.allSettled(this.#providers.map((p) => p.close()));
    })();
    return this.#closing;
  }

  #lead(): void {
    const { settings, client, logger } = this.#o;
    const events = new EventRecorder(client, { logger, host: hostname() });
    this.#controllers = settings.nodes.map((node, i) => new NodeController({
      settings: node,
      provider: this.#providers[i]!,
      client,
      events,
      logger,
      leaseDurationSeconds: settings.nodeLeaseDurationSeconds,
      renewIntervalMs: settings.nodeLeaseRenewIntervalSeconds * 1000,
      statusUpdateIntervalMs: settings.nodeStatusUpdateIntervalSeconds * 1000,
      onLeaseRenewed: (renewTime) => this.#metrics?.leaseRenewed(node.name, renewTime),
    }));
    for (const c of this.#controllers) c.start();
    if (this.#o.redisUrl) {
      // BullMQ needs maxRetriesPerRequest: null so blocking commands survive reconnects.
      if (!this.#redis) {
        this.#redis = new Redis(this.#o.redisUrl, { maxRetriesPerRequest: null });
        this.#redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
      }
      this.#queues = settings.nodes.map((n) => new Queue<PodJobData>(podQueueName(n.name), { connection: this.#redis! }));
      this.#watchers = settings.nodes.map((n, i) => new PodWatcher({
        client, queue: this.#queues[i]!, nodeName: n.name, logger, resyncIntervalMs: this.#o.resyncIntervalMs ?? 60_000,
        statusSyncIntervalMs: this.#o.statusSyncIntervalMs ?? 5_000,
      }));
      for (const q of this.#queues) q.on('error', (err) => logger.warn({ err }, 'queue error'));
      for (const w of this.#watchers) w.start();
    }
    this.#firstLead.resolve();
  }

  async #stopLeading(): Promise<void> {
    const controllers = this.#controllers;
    const watchers = this.#watchers;
    const queues = this.#queues;
    this.#controllers = [];
    this.#watchers = [];
    this.#queues = [];
    await Promise.all([...controllers.map((c) => c.close()), ...watchers.map((w) => w.close())]);
    // Bounded: closing a queue waits for its connection, which never comes while Redis is down; the
    // disconnect below ends it either way, and the Lease release after this must not wait on Redis.
    await untilAborted(Promise.allSettled(queues.map((q) => q.close())), AbortSignal.timeout(QUEUE_CLOSE_MS));
    const redis = this.#redis;
    this.#redis = undefined;
    redis?.disconnect();
  }
}
