import { Backoff, delay } from './backoff.ts';
import { METADATA_ONLY, isKubeGone, type KubeRestClient, type WatchEvent } from './kube-rest-client.ts';
import type { Logger } from './logger.ts';

interface Versioned {
  metadata?: { resourceVersion?: string };
}

export interface ListWatchOptions<T extends Versioned> {
  client: KubeRestClient;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  fieldSelector?: string;
  /** Only the objects' metadata (PartialObjectMetadata) is listed and watched. */
  metadataOnly?: boolean;
  /** Called with every object after each (re)list, before the watch resumes. */
  onList: (items: T[]) => void | Promise<void>;
  /** Called for ADDED, MODIFIED and DELETED (bookmarks only move the resourceVersion). */
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void;
  logger: Logger;
  signal: AbortSignal;
}

/**
 * The list+watch loop of an informer: list (in pages), then watch from the list's
 * resourceVersion with bookmarks; on 410 Gone list again; on any other error
 * retry with capped backoff and resume from the last resourceVersion seen.
 * Never gives up; returns when the signal aborts.
 */
export async function runListWatch<T extends Versioned>(o: ListWatchOptions<T>): Promise<void> {
  const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  let resourceVersion: string | undefined;
  while (!o.signal.aborted) {
    try {
      if (!resourceVersion) {
        const items: T[] = [];
        const listed = await o.client.listPaged<T>(o.path, { fieldSelector: o.fieldSelector }, (page) => {
          items.push(...page);
        }, { accept: o.metadataOnly ? METADATA_ONLY.list : undefined });
        await o.onList(items);
        resourceVersion = listed;
      }
      await o.client.watch<T>(o.path, { fieldSelector: o.fieldSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 }, (event: WatchEvent<T>) => {
        backoff.reset();
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type !== 'BOOKMARK' && event.type !== 'ERROR') o.onEvent(event.type, event.object);
      }, o.signal, o.metadataOnly ? METADATA_ONLY.watch : undefined);
    } catch (err) {
      if (o.signal.aborted) break;
      if (isKubeGone(err)) {
        o.logger.info({ path: o.path }, 'watch expired (410 Gone): relisting');
        resourceVersion = undefined;
        continue;
      }
      const waitMs = backoff.next();
      o.logger.warn({ err, path: o.path, retryInMs: waitMs }, 'list/watch failed; retrying');
      await delay(waitMs, o.signal);
    }
  }
}
