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
 */
export class RequestAuthenticator {
  readonly #options: RequestAuthenticatorOptions;

  constructor(options: RequestAuthenticatorOptions) {
    this.#options = options;
  }

  async authenticate(socket: Socket, headers: IncomingHttpHeaders): Promise<UserInfo | undefined> {
    const fromCert = certificateUser(socket);
    if (fromCert) return fromCert;
    const token = bearerToken(headers.authorization);
    if (token && this.#options.tokens) {
      const user = await this.#options.tokens.review(token);
      if (user) return user;
    }
    return this.#options.anonymous ? ANONYMOUS_USER : undefined;
  }
}

function certificateUser(socket: Socket): UserInfo | undefined {
  // `authorized` is true only when the peer sent a certificate that verified
  // against the configured client CA (requestCert with rejectUnauthorized off,
  // so that token clients can still connect).
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
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
