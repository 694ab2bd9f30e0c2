import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { ANONYMOUS_USER, type UserInfo } from './user-info.ts';

/** Reviews bearer tokens; TokenReviewer in production. */
export interface TokenAuthenticator {
  review(token: string): Promise<UserInfo | undefined>;
}

export interface RequestAuthenticatorOptions {
  /** Absent: bearer tokens are not accepted. */
  tokens?: TokenAuthenticator;
  /** Unauthenticated requests become system:anonymous (then authorized like anyone else) instead of a 401. */
  anonymous: boolean;
}

/**
 * Who is calling, the way the kubelet decides it: a TLS client certificate
 * that chains to the client CA (the TLS layer has verified it; user = CN,
 * groups = O), else a bearer token accepted by TokenReview, else anonymous
 * when allowed. Undefined means 401.
 *
 * As in the kubelet (certificate and token in a union that tries each,
 * wrapped with anonymous in a union that fails on error): credentials that
 * are presented and rejected (a certificate that does not verify, a token
 * TokenReview refuses) are a 401 even with anonymous auth on, unless the
 * other credential authenticates; they never become `system:anonymous`, and
 * a client refreshes its credentials on the 401. Every authenticated user is
 * in `system:authenticated`, certificate users too.
 */
export class RequestAuthenticator {
  readonly #options: RequestAuthenticatorOptions;

  constructor(options: RequestAuthenticatorOptions) {
    this.#options = options;
  }

  async authenticate(socket: Socket, headers: IncomingHttpHeaders): Promise<UserInfo | undefined> {
    const cert = certificateUser(socket);
    if (cert && cert !== 'rejected') return authenticated(cert);
    let rejected = cert === 'rejected';
    const token = bearerToken(headers.authorization);
    if (token && this.#options.tokens) {
      const user = await this.#options.tokens.review(token);
      if (user) return authenticated(user);
      rejected = true;
    }
    return this.#options.anonymous && !rejected ? ANONYMOUS_USER : undefined;
  }
}

const AUTHENTICATED = 'system:authenticated';

function authenticated(user: UserInfo): UserInfo {
  return user.groups.includes(AUTHENTICATED) ? user : { ...user, groups: [...user.groups, AUTHENTICATED] };
}

/** The certificate's user; 'rejected' for one that did not verify; undefined for none (or one without a CN). */
function certificateUser(socket: Socket): UserInfo | 'rejected' | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  // `authorized` is true only when the peer's certificate verified against the configured client CA
  // (requestCert with rejectUnauthorized off, so that token clients can still connect).
  if (!socket.authorized) return 'rejected';
  const cn = cert.subject?.CN;
  const username = Array.isArray(cn) ? cn[0] : cn;
  if (!username) return undefined;
  const o = cert.subject.O;
  return { username, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
}

/** RFC 6750 "Bearer <token>", case-insensitive scheme; anything else is no token. */
function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}
