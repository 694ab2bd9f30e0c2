import { Backoff, delay } from './backoff.ts';
import { ErrorCodes, VkError } from './errors.ts';
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
  /** Called with each failed list or watch (already logged), e.g. to say why nothing was listed yet. */
  onError?: (err: unknown) => void;
}

/** A watch that ends sooner than this without a single event counts as failed (client-go's "very short watch"). */
const SHORT_WATCH_MS = 1000;
/** After this many failures in a row (no successful list or watch between them) the loop lists again instead of resuming the watch. */
const RELIST_AFTER_FAILURES = 3;

/**
 * The list+watch loop of an informer: list (in pages), then watch from the list's
 * resourceVersion with bookmarks; on 410 Gone list again; on any other error
 * retry with capped backoff and resume from the last resourceVersion seen, and
 * list again after RELIST_AFTER_FAILURES failures in a row (a watch refused for
 * good, e.g. RBAC granting list but not watch, then still brings changes at each
 * relist instead of never again). A watch the server ends at once without an
 * event is a failure too, so it is never reopened in a tight loop.
 * Never gives up; returns when the signal aborts.
 */
export async function runListWatch<T extends Versioned>(o: ListWatchOptions<T>): Promise<void> {
  const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  let resourceVersion: string | undefined;
  let failures = 0;
  while (!o.signal.aborted) {
    try {
      if (!resourceVersion) {
        const items: T[] = [];
        const listed = await o.client.listPaged<T>(o.path, { fieldSelector: o.fieldSelector }, (page) => {
          items.push(...page);
        }, { accept: o.metadataOnly ? METADATA_ONLY.list : undefined });
        await o.onList(items);
        resourceVersion = listed;
        failures = 0;
      }
      const started = Date.now();
      let events = 0;
      await o.client.watch<T>(o.path, { fieldSelector: o.fieldSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 }, (event: WatchEvent<T>) => {
        events++;
        failures = 0;
        backoff.reset();
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type !== 'BOOKMARK' && event.type !== 'ERROR') o.onEvent(event.type, event.object);
      }, o.signal, o.metadataOnly ? METADATA_ONLY.watch : undefined);
      const lastedMs = Date.now() - started;
      if (events === 0 && lastedMs < SHORT_WATCH_MS && !o.signal.aborted) {
        throw new VkError(ErrorCodes.KUBE_API, `the watch of ${o.path} ended after ${lastedMs} ms without an event`);
      }
      failures = 0;
    } catch (err) {
      if (o.signal.aborted) break;
      if (isKubeGone(err)) {
        o.logger.info({ path: o.path }, 'watch expired (410 Gone): relisting');
        resourceVersion = undefined;
        continue;
      }
      failures++;
      o.onError?.(err);
      const relist = failures >= RELIST_AFTER_FAILURES && resourceVersion !== undefined;
      if (relist) {
        resourceVersion = undefined;
        failures = 0;
      }
      const waitMs = backoff.next();
      o.logger.warn({ err, path: o.path, retryInMs: waitMs, relist }, relist ? 'list/watch failed again; listing again' : 'list/watch failed; retrying');
      await delay(waitMs, o.signal);
    }
  }
}
