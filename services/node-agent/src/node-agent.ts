import { hostname } from 'node:os';
import {
  EventRecorder, type KubeRestClient, type Logger, type Provider,
} from '@vk-ts/core';
import { createProvider } from '@vk-ts/provider-registry';
import type { AgentSettings } from './agent-config.ts';
import { LeaderElector } from './leader-election.ts';
import { NodeController } from './node-controller.ts';

export interface NodeAgentOptions {
  settings: AgentSettings;
  client: KubeRestClient;
  logger: Logger;
  /** Identity in leader election, e.g. "<pod name>_<random>". */
  identity: string;
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
  #controllers: NodeController[] = [];
  #closing: Promise<void> | undefined;

  constructor(options: NodeAgentOptions) {
    this.#o = options;
    const make = options.createProvider ?? createProvider;
    this.#providers = options.settings.nodes.map((n) => make({
      provider: n.provider, nodeName: n.name, operatingSystem: n.operatingSystem, internalIP: n.internalIP, config: n.providerConfig,
    }));
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

  get isLeader(): boolean {
    return this.#elector ? this.#elector.isLeader : true;
  }

  start(): void {
    if (this.#elector) this.#elector.start();
    else this.#lead();
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
    }));
    for (const c of this.#controllers) c.start();
  }

  async #stopLeading(): Promise<void> {
    const controllers = this.#controllers;
    this.#controllers = [];
    await Promise.all(controllers.map((c) => c.close()));
  }
}
