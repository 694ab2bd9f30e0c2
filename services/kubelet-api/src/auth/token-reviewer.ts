import { createHash } from 'node:crypto';
import type { KubeRestClient, Logger } from '@vk-ts/core';
import { TtlCache } from './ttl-cache.ts';
import type { UserInfo } from './user-info.ts';

interface TokenReview {
  status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }; error?: string };
}

export interface TokenReviewerOptions {
  client: KubeRestClient;
  logger: Logger;
  /** How long an authenticated token's user is reused without asking again (the kubelet's default is 2 min). */
  authenticatedTtlMs: number;
  /** How long a rejected token stays rejected without asking again. */
  unauthenticatedTtlMs: number;
  maxEntries?: number;
}

/**
 * Authenticates bearer tokens with the API server's TokenReview
 * (authentication.k8s.io/v1), as a kubelet with webhook authentication does.
 * Answers are cached under a SHA-256 of the token: the token itself is never
 * kept or logged. A TokenReview that fails (API server unreachable) is an
 * error, not a rejection, and is not cached.
 */
export class TokenReviewer {
  readonly #options: TokenReviewerOptions;
  readonly #cache: TtlCache<UserInfo | null>;

  constructor(options: TokenReviewerOptions) {
    this.#options = options;
    this.#cache = new TtlCache({ maxEntries: options.maxEntries ?? 10_000 });
  }

  /** The token's user, or undefined when the API server does not accept the token. */
  async review(token: string): Promise<UserInfo | undefined> {
    const key = createHash('sha256').update(token).digest('base64url');
    return (await this.#cache.load(key, () => this.#ask(token))) ?? undefined;
  }

  async #ask(token: string): Promise<{ value: UserInfo | null; ttlMs: number }> {
    const review = await this.#options.client.create<TokenReview>('/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token },
    });
    const status = review.status;
    if (!status?.authenticated || !status.user?.username) {
      this.#options.logger.debug({ reason: status?.error }, 'bearer token rejected by TokenReview');
      return { value: null, ttlMs: this.#options.unauthenticatedTtlMs };
    }
    const user: UserInfo = {
      username: status.user.username,
      groups: status.user.groups ?? [],
      ...(status.user.uid ? { uid: status.user.uid } : {}),
      ...(status.user.extra ? { extra: status.user.extra } : {}),
    };
    return { value: user, ttlMs: this.#options.authenticatedTtlMs };
  }
}
