import { delay, isKubeConflict, isKubeNotFound, isKubeAlreadyExists, type KubeRestClient, type Logger } from '@vk-ts/core';
import { microTime } from './node-object.ts';

export interface LeaderElectionOptions {
  client: KubeRestClient;
  logger: Logger;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  /** Called when this replica becomes the leader; `signal` aborts when it stops leading. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called after leadership is lost or released; all leader work must have stopped by then. */
  onStoppedLeading: () => Promise<void>;
}

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/**
 * Leader election on a coordination.k8s.io Lease, with client-go's rules:
 * a follower takes over only when the lease record has not changed for a
 * whole lease duration *as observed by its own clock* (so clock skew between
 * replicas does not matter); a leader that cannot renew within the renew
 * deadline stops leading before anyone else may acquire (deadline < duration),
 * so two replicas never lead at once.
 */
export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #observed: { record: string; at: number } | undefined;
  #lease: LeaseObject | undefined;
  #leading: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = options;
    this.#log = options.logger.child({ leaderElection: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  get isLeader(): boolean {
    return this.#leading !== undefined;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops leading (if leading), releases the lease so a standby takes over at once; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      await this.#loop;
      if (this.#leading) {
        await this.#stopLeading('shutting down');
        await this.#release();
      }
    })();
    return this.#closing;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const retryMs = this.#o.retryPeriodSeconds * 1000;
    const deadlineMs = this.#o.renewDeadlineSeconds * 1000;
    let lastRenew = 0;
    while (!signal.aborted) {
      let ok = false;
      // A leader's round ends at its renew deadline, as client-go bounds it with a context: a Lease
      // request that hangs (a dead API server behind a kept-alive connection, Retry-After waits) is
      // abandoned, and the leader stops in time, before a standby may take over after the lease duration.
      // A candidate's round is bounded by the lease duration, so that it keeps observing.
      const startedAt = Date.now();
      const budgetMs = this.#leading ? Math.max(0, lastRenew + deadlineMs - startedAt) : this.#o.leaseDurationSeconds * 1000;
      const round = AbortSignal.any([signal, AbortSignal.timeout(budgetMs)]);
      try {
        ok = await this.#tryAcquireOrRenew(round);
      } catch (err) {
        if (signal.aborted) break;
        if (round.aborted) this.#log.warn({ budgetMs }, 'leader election: the lease request did not finish in time; abandoned');
        else this.#log.warn({ err }, 'leader election: cannot reach the lease');
      }
      if (signal.aborted) break;
      const now = Date.now();
      if (ok) {
        // The renewal is as old as the round's start: the time it wrote, the earliest a standby can see it.
        lastRenew = startedAt;
        if (!this.#leading) {
          this.#leading = new AbortController();
          this.#log.info('started leading');
          this.#o.onStartedLeading(this.#leading.signal);
        }
      } else if (this.#leading && now - lastRenew >= deadlineMs) {
        await this.#stopLeading('could not renew the lease within the renew deadline');
      }
      await delay(retryMs, signal);
    }
  }

  async #stopLeading(why: string): Promise<void> {
    const leading = this.#leading;
    if (!leading) return;
    this.#leading = undefined;
    this.#log.warn({ why }, 'stopped leading');
    leading.abort();
    await this.#o.onStoppedLeading();
  }

  /** True when we hold the lease after this call. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name, identity, leaseDurationSeconds } = this.#o;
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
    const now = microTime(new Date());
    let lease: LeaseObject;
    try {
      lease = await client.get<LeaseObject>(`${base}/${encodeURIComponent(name)}`, { signal });
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
      try {
        this.#lease = await client.create<LeaseObject>(base, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        }, { signal });
        return true;
      } catch (createErr) {
        if (isKubeAlreadyExists(createErr)) return false;
        throw createErr;
      }
    }
    const record = JSON.stringify(lease.spec);
    if (this.#observed?.record !== record) this.#observed = { record, at: Date.now() };
    const holder = lease.spec.holderIdentity ?? '';
    const held = holder !== '' && holder !== identity;
    const expired = Date.now() > this.#observed.at + (lease.spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (held && !expired) return false;

    const acquiring = holder !== identity;
    const next: LeaseObject = {
      ...lease,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: acquiring ? now : lease.spec.acquireTime ?? now,
        renewTime: now,
        leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (acquiring ? 1 : 0),
      },
    };
    try {
      // The resourceVersion in `next` makes this a compare-and-swap: a racing replica gets 409.
      this.#lease = await client.replace<LeaseObject>(`${base}/${encodeURIComponent(name)}`, next, { signal });
      this.#observed = { record: JSON.stringify(this.#lease.spec), at: Date.now() };
      return true;
    } catch (err) {
      if (isKubeConflict(err)) return false;
      throw err;
    }
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    if (!lease || lease.spec.holderIdentity !== this.#o.identity) return;
    const { client, namespace, name } = this.#o;
    try {
      await client.replace(`/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
      }, { signal: AbortSignal.timeout(this.#o.renewDeadlineSeconds * 1000) });
      this.#log.info('released the leader lease');
    } catch (err) {
      this.#log.warn({ err }, 'could not release the leader lease; the standby takes over when it expires');
    }
  }
}
