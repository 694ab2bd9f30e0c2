import type { FastifyInstance } from 'fastify';
import type { V1Pod } from '@kubernetes/client-node';
import { ErrorCodes, VkError, isKubeNotFound, type KubeRestClient, type LogOptions, type Provider } from '@vk-ts/core';

interface Params { namespace: string; pod: string; container: string }
interface Query {
  follow?: string; previous?: string; timestamps?: string; tailLines?: string; limitBytes?: string; sinceSeconds?: string; sinceTime?: string;
}

const NAME = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
// Read as the kubelet decodes PodLogOptions (Convert_Slice_string_To_bool): "0" and "false" (any case) are false,
// anything else, an empty value included (`?follow`), is true.
const BOOL = { type: 'string', maxLength: 16 };
const INT = { type: 'string', pattern: '^[0-9]{1,15}$' };

/**
 * GET /containerLogs/{namespace}/{pod}/{container}, as the kubelet answers it:
 * tailLines, follow, limitBytes, previous, sinceSeconds, sinceTime (RFC 3339;
 * both since-params at once is a 400), timestamps. Streams with flushing; a
 * follow ends when the container ends or the client goes away, and the
 * provider stream is destroyed either way.
 */
export function containerLogsRoute(app: FastifyInstance, deps: { client: KubeRestClient; provider: Provider; nodeName: string }): void {
  app.get<{ Params: Params; Querystring: Query }>('/containerLogs/:namespace/:pod/:container', {
    schema: {
      params: {
        type: 'object', required: ['namespace', 'pod', 'container'],
        properties: { namespace: { type: 'string', pattern: NAME }, pod: { type: 'string', pattern: NAME }, container: { type: 'string', pattern: NAME } },
      },
      querystring: {
        type: 'object',
        properties: { follow: BOOL, previous: BOOL, timestamps: BOOL, tailLines: INT, limitBytes: INT, sinceSeconds: INT, sinceTime: { type: 'string', maxLength: 64 } },
      },
    },
  }, async (req, reply) => {
    const q = req.query;
    if (q.sinceSeconds !== undefined && q.sinceTime !== undefined) {
      throw new VkError(ErrorCodes.REQUEST_INVALID, 'at most one of sinceTime or sinceSeconds may be specified');
    }
    // The API server's own PodLogOptions validation, repeated here for callers that come straight to us.
    if (q.limitBytes !== undefined && Number(q.limitBytes) < 1) throw new VkError(ErrorCodes.REQUEST_INVALID, 'limitBytes must be greater than 0');
    if (q.sinceSeconds !== undefined && Number(q.sinceSeconds) < 1) throw new VkError(ErrorCodes.REQUEST_INVALID, 'sinceSeconds must be greater than 0');
    const options: LogOptions = {
      follow: isTrue(q.follow), previous: isTrue(q.previous), timestamps: isTrue(q.timestamps),
      ...(q.tailLines !== undefined ? { tailLines: Number(q.tailLines) } : {}),
      ...(q.limitBytes !== undefined ? { limitBytes: Number(q.limitBytes) } : {}),
      // More seconds than since the epoch means "everything": clamp, so providers always get a representable time.
      ...(q.sinceSeconds !== undefined ? { sinceSeconds: Math.min(Number(q.sinceSeconds), Math.floor(Date.now() / 1000)) } : {}),
    };
    if (q.sinceTime !== undefined) {
      const t = parseRfc3339(q.sinceTime);
      if (t === undefined) throw new VkError(ErrorCodes.REQUEST_INVALID, `sinceTime "${q.sinceTime}" is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)`);
      options.sinceTime = t;
    }
    if (!deps.provider.getContainerLogs) {
      throw new VkError(ErrorCodes.PROVIDER_NOT_IMPLEMENTED, `provider ${deps.provider.name} does not serve container logs`);
    }
    const { namespace, pod: name, container } = req.params;
    let pod: V1Pod;
    try {
      pod = await deps.client.get<V1Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`);
    } catch (err) {
      if (isKubeNotFound(err)) throw new VkError(ErrorCodes.PROVIDER_NOT_FOUND, `pod "${namespace}/${name}" not found`);
      throw err;
    }
    if (pod.spec?.nodeName !== deps.nodeName) {
      throw new VkError(ErrorCodes.PROVIDER_NOT_FOUND, `pod "${namespace}/${name}" is not on node ${deps.nodeName}`);
    }
    const known = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.name === container);
    if (!known) throw new VkError(ErrorCodes.PROVIDER_NOT_FOUND, `container "${container}" is not valid for pod "${namespace}/${name}"`);
    const abort = new AbortController();
    req.raw.once('close', () => abort.abort());
    let stream;
    try {
      stream = await deps.provider.getContainerLogs({ namespace, name, uid: pod.metadata!.uid! }, container, options, abort.signal);
    } catch (err) {
      // The kubelet answers any failure to read a container's logs with 400 and the reason: the API server
      // passes a 400's text on to kubectl, but replaces a 404's or 503's with a generic message of its own.
      req.log.warn({ err, pod: `${namespace}/${name}`, container }, 'provider could not serve container logs');
      throw new VkError(ErrorCodes.REQUEST_INVALID, `cannot read the logs of container "${container}" in pod "${namespace}/${name}": ${(err as Error).message}`, { cause: err });
    }
    stream.once('error', () => stream.destroy());
    reply.raw.once('close', () => stream.destroy());
    return reply.type('text/plain').header('cache-control', 'no-cache').send(stream);
  });
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && v !== '0' && v.toLowerCase() !== 'false';
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 date-time as Go's time.Parse reads it: a full date and time with
 * seconds and an offset, every field in range. `Date.parse` alone would take
 * a time without an offset as local time and roll 30 February over to March.
 */
export function parseRfc3339(text: string): Date | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t);
}
