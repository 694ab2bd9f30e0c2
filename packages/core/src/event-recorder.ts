import { randomBytes } from 'node:crypto';
import type { KubeRestClient } from './kube-rest-client.ts';
import type { Logger } from './logger.ts';

export interface InvolvedObject {
  kind: 'Pod' | 'Node';
  name: string;
  /** Empty for Node. */
  namespace?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export type EventType = 'Normal' | 'Warning';

/**
 * Records Kubernetes Events (core/v1) the way a kubelet does: source
 * component "kubelet" plus our host. Recording never throws: an Event that
 * cannot be written is logged and dropped, never failing the work it describes.
 * Callers must not put secret values in messages.
 */
export class EventRecorder {
  readonly #client: KubeRestClient;
  readonly #logger: Logger;
  readonly #host: string;

  constructor(client: KubeRestClient, options: { logger: Logger; host: string }) {
    this.#client = client;
    this.#logger = options.logger;
    this.#host = options.host;
  }

  async record(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    // Node events go in "default", as the kubelet does.
    const namespace = object.namespace || 'default';
    const now = new Date().toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${object.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: object.apiVersion ?? 'v1',
        kind: object.kind,
        name: object.name,
        namespace: object.namespace ?? '',
        uid: object.uid ?? '',
        ...(object.resourceVersion ? { resourceVersion: object.resourceVersion } : {}),
        ...(object.fieldPath ? { fieldPath: object.fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.#host },
      reportingComponent: 'virtual-kubelet-ts',
      reportingInstance: this.#host,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.#client.create(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, event, { discardBody: true });
    } catch (err) {
      this.#logger.warn({ err, reason, object: `${object.kind}/${object.namespace ?? ''}/${object.name}` }, 'cannot record event');
    }
  }
}
