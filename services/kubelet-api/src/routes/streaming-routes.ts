import type { FastifyInstance } from 'fastify';
import { ErrorCodes, VkError } from '@vk-ts/core';

/**
 * The kubelet's streaming endpoints: exec, attach, port-forward (and the old
 * `run`). They are not built yet (no provider streams a container's stdio or
 * ports through this project), so each answers 501 saying so, instead of a
 * bare 404 that `kubectl exec` would show as "unable to upgrade connection".
 * Authentication and authorization (nodes/proxy) still come first.
 */
const PATHS = [
  '/exec/:namespace/:pod/:container', '/exec/:namespace/:pod/:uid/:container',
  '/attach/:namespace/:pod/:container', '/attach/:namespace/:pod/:uid/:container',
  '/portForward/:namespace/:pod', '/portForward/:namespace/:pod/:uid',
  '/run/:namespace/:pod/:container', '/run/:namespace/:pod/:uid/:container',
];

export function streamingRoutes(app: FastifyInstance): void {
  for (const url of PATHS) {
    const what = url.split('/')[1] === 'portForward' ? 'port-forward' : url.split('/')[1]!;
    app.route({
      method: ['GET', 'POST'],
      url,
      handler: async () => {
        throw new VkError(ErrorCodes.PROVIDER_NOT_IMPLEMENTED, `${what} is not supported by this virtual kubelet yet (virtual-kubelet-ts serves logs, stats and metrics; exec, attach and port-forward are not built)`);
      },
    });
  }
}
