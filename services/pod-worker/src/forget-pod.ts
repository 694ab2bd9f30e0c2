import type { PodRef, Provider } from '@vk-ts/core';
import type { StatusDigests } from './status-digests.ts';

/**
 * A pod object that is gone from the API server (deleted, replaced by a newer
 * pod of the same name, or never ours): its provider copy is deleted at once
 * (grace 0: there is no pod left to honour a grace period for) and its status
 * record dropped.
 */
export async function forgetPod(provider: Provider, digests: StatusDigests, ref: PodRef): Promise<void> {
  await provider.deletePod(ref, { gracePeriodSeconds: 0 });
  await digests.delete(ref.uid);
}
