/**
 * What a request to kubelet-api asks for, in the terms the API server's
 * authorizers understand: the kubelet's own mapping (kubelet
 * server/auth.go). Resource `nodes`, name = the node, API version v1, verb
 * from the HTTP method, and a subresource from the path:
 *
 *   /stats/...              stats
 *   /metrics/...            metrics
 *   /logs/...               log        (node log files, not /containerLogs)
 *   /checkpoint/...         checkpoint
 *   /pods, /runningpods/    pods, then proxy
 *   /healthz/...            healthz, then proxy
 *   /configz                configz, then proxy
 *   anything else           proxy      (/containerLogs, /exec, /attach, /portForward, ...)
 *
 * Where two subresources are listed (fine-grained kubelet authorization, on
 * by default since Kubernetes 1.33), the request is allowed when either one
 * is; the first is tried first.
 */

export interface NodeRequestAttributes {
  verb: string;
  resource: 'nodes';
  name: string;
  /** Tried in order; one allow is enough. */
  subresources: string[];
}

const VERBS: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** Fine-grained subresources that fall back to `proxy`. */
const FINE_GRAINED: [prefix: string, subresource: string][] = [
  ['/pods', 'pods'], ['/healthz', 'healthz'], ['/configz', 'configz'], ['/runningpods', 'pods'],
];
const COARSE: [prefix: string, subresource: string][] = [
  ['/stats', 'stats'], ['/metrics', 'metrics'], ['/logs', 'log'], ['/checkpoint', 'checkpoint'],
];

/** `path` is the request path without the query string, as the router sees it. */
export function nodeRequestAttributes(method: string, path: string, nodeName: string): NodeRequestAttributes {
  const verb = VERBS[method.toUpperCase()] ?? '';
  const coarse = COARSE.find(([prefix]) => isSubpath(path, prefix));
  const subresources = coarse ? [coarse[1]] : [...FINE_GRAINED.filter(([prefix]) => isSubpath(path, prefix)).map(([, s]) => s), 'proxy'];
  return { verb, resource: 'nodes', name: nodeName, subresources };
}

/** The kubelet's isSubpath: the path itself, or below it. */
function isSubpath(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}
