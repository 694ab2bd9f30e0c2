import assert from 'node:assert/strict';
import { createLogger, type PodJobData, type PodRef, type Provider, type ProviderPod } from '@vk-ts/core';
import type { PodCache } from '../src/pod-cache.ts';
import { digestOf, type StatusDigest, type StatusDigests } from '../src/status-digests.ts';
import { StatusSync } from '../src/status-sync.ts';

const ref = (name: string): PodRef => ({ namespace: 'ns', name, uid: `uid-${name}` });
const running = (name: string, ready = true): ProviderPod => ({
  ref: ref(name), status: { phase: 'Running', containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready, restartCount: 0 }] },
});

/** Runs one status sync over a provider listing and the records of what each pod's status was written from. */
async function sync(listed: ProviderPod[], recorded: ProviderPod[], terminating: PodRef[], recordGoneSince: string[] = []): Promise<string[]> {
  const enqueued: PodJobData[] = [];
  const records = new Map<string, StatusDigest>(recorded.map((p) => [p.ref.uid, { ref: p.ref, digest: digestOf(p), generation: 1 }]));
  const statusSync = new StatusSync({
    // One pod per page: the sync must carry what it learns across pages (and never ask for the whole list).
    provider: {
      listPods: async () => { throw new Error('the status sync walks the provider page by page'); },
      listPodPages: async function* () { for (const pod of listed) yield [pod]; },
    } as unknown as Provider,
    digests: {
      // The listing as it was; `present` answers as Redis does now, after `recordGoneSince` finished deleting.
      all: async () => new Map(records),
      present: async (uids: string[]) => new Set(uids.filter((uid) => records.has(uid) && !recordGoneSince.includes(uid))),
    } as unknown as StatusDigests,
    cache: { terminating: (r: PodRef) => terminating.some((t) => t.name === r.name && t.uid === r.uid) } as unknown as PodCache,
    enqueue: async (job) => { enqueued.push(job); },
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  await statusSync.run();
  return enqueued.map((j) => `${j.name} ${j.op}`).sort();
}

describe('the batch status sync', () => {
  it('gives a job to each pod whose provider state changed and to each running pod the provider lost, and none to the rest', async () => {
    const jobs = await sync([running('same'), running('changed', false)], [running('same'), running('changed'), running('lost')], []);
    assert.deepEqual(jobs, ['changed status', 'lost status']);
  });

  it('leaves a pod that vanished because it is being deleted to its deletion job', async () => {
    const jobs = await sync([], [running('deleting'), running('lost')], [ref('deleting')]);
    assert.deepEqual(jobs, ['lost status']);
  });

  it('gives a job to a lost pod whose name a terminating pod of another uid has', async () => {
    const jobs = await sync([], [running('p')], [{ ...ref('p'), uid: 'uid-of-an-older-p' }]);
    assert.deepEqual(jobs, ['p status']);
  });

  it('leaves a pod whose deletion finished between the listings and the check (its record is gone by then)', async () => {
    const jobs = await sync([], [running('deleted'), running('lost')], [], ['uid-deleted']);
    assert.deepEqual(jobs, ['lost status']);
  });
});
