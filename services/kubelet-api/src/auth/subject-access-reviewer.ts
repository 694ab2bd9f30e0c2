import type { KubeRestClient } from '@vk-ts/core';
import type { NodeRequestAttributes } from './request-attributes.ts';
import { TtlCache } from './ttl-cache.ts';
import type { UserInfo } from './user-info.ts';

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export interface SubjectAccessReviewerOptions {
  client: KubeRestClient;
  /** How long an allow is reused (the kubelet's default is 5 min). */
  allowedTtlMs: number;
  /** How long a deny is reused (the kubelet's default is 30 s). */
  deniedTtlMs: number;
  maxEntries?: number;
}

/**
 * Authorizes with the API server's SubjectAccessReview
 * (authorization.k8s.io/v1), as a kubelet with webhook authorization does:
 * may this user <verb> nodes/<subresource> named <node>? Decisions are cached
 * apart for allow and deny; a failed review throws and is not cached.
 */
export class SubjectAccessReviewer {
  readonly #options: SubjectAccessReviewerOptions;
  readonly #cache: TtlCache<boolean>;

  constructor(options: SubjectAccessReviewerOptions) {
    this.#options = options;
    this.#cache = new TtlCache({ maxEntries: options.maxEntries ?? 10_000 });
  }

  async allowed(user: UserInfo, attrs: NodeRequestAttributes, subresource: string): Promise<boolean> {
    const key = JSON.stringify([user.username, user.uid, user.groups, user.extra, attrs.verb, attrs.name, subresource]);
    return this.#cache.load(key, () => this.#ask(user, attrs, subresource));
  }

  async #ask(user: UserInfo, attrs: NodeRequestAttributes, subresource: string): Promise<{ value: boolean; ttlMs: number }> {
    const review = await this.#options.client.create<SubjectAccessReview>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.username,
        groups: user.groups,
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: { verb: attrs.verb, group: '', version: 'v1', resource: attrs.resource, subresource, name: attrs.name },
      },
    });
    const allowed = review.status?.allowed === true && review.status.denied !== true;
    return { value: allowed, ttlMs: allowed ? this.#options.allowedTtlMs : this.#options.deniedTtlMs };
  }
}
