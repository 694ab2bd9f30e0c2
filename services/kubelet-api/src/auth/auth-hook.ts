import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCodes, VkError } from '@vk-ts/core';
import { nodeRequestAttributes, type NodeRequestAttributes } from './request-attributes.ts';
import type { RequestAuthenticator } from './request-authenticator.ts';
import type { UserInfo } from './user-info.ts';

/** Decides one (user, attributes, subresource); SubjectAccessReviewer in production. */
export interface NodeAuthorizer {
  allowed(user: UserInfo, attrs: NodeRequestAttributes, subresource: string): Promise<boolean>;
}

/**
 * Why a request was refused: no acceptable credentials (401), TokenReview
 * failed (401), not allowed (403), SubjectAccessReview failed (500).
 */
export type AuthFailureReason = 'unauthenticated' | 'authentication_error' | 'forbidden' | 'authorization_error';

export interface AuthHookDeps {
  authenticator: RequestAuthenticator;
  authorizer: NodeAuthorizer;
  nodeName: string;
  /** Told of every refused request (for metrics). */
  onFailure?: (reason: AuthFailureReason) => void;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook once the caller is authenticated and authorized. */
    user?: UserInfo;
  }
}

/**
 * Every request, unknown paths included, is authenticated and then
 * authorized before any route runs, and answered the way the kubelet answers:
 * `401 Unauthorized`, `403 Forbidden (user=…, verb=…, resource=nodes,
 * subresource(s)=[…])`, or `500 Authorization error (…)` when the API server
 * cannot be asked.
 */
export function installAuthHook(app: FastifyInstance, deps: AuthHookDeps): void {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    let user: UserInfo | undefined;
    try {
      user = await deps.authenticator.authenticate(req.raw.socket, req.headers);
    } catch (err) {
      req.log.warn({ err }, 'cannot authenticate the request: TokenReview failed');
      deps.onFailure?.('authentication_error');
      throw new VkError(ErrorCodes.UNAUTHENTICATED, 'Unauthorized');
    }
    if (!user) {
      deps.onFailure?.('unauthenticated');
      throw new VkError(ErrorCodes.UNAUTHENTICATED, 'Unauthorized');
    }
    const attrs = nodeRequestAttributes(req.method, pathOf(req.url), deps.nodeName);
    const what = `user=${user.username}, verb=${attrs.verb}, resource=${attrs.resource}, subresource(s)=[${attrs.subresources.join(' ')}]`;
    for (const subresource of attrs.subresources) {
      let allowed: boolean;
      try {
        allowed = await deps.authorizer.allowed(user, attrs, subresource);
      } catch (err) {
        req.log.error({ err, user: user.username }, 'cannot authorize the request: SubjectAccessReview failed');
        deps.onFailure?.('authorization_error');
        throw new VkError(ErrorCodes.AUTHORIZATION_UNAVAILABLE, `Authorization error (${what})`);
      }
      if (allowed) {
        req.user = user;
        return;
      }
    }
    req.log.info({ user: user.username, verb: attrs.verb, subresources: attrs.subresources }, 'forbidden');
    deps.onFailure?.('forbidden');
    throw new VkError(ErrorCodes.FORBIDDEN, `Forbidden (${what})`);
  });
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
