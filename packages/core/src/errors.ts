/**
 * The error catalogue. Every error this project raises on purpose carries a
 * stable `code` that callers match on (never `instanceof`, which breaks across
 * duplicate installs and serialisation through the queue).
 */

export const ErrorCodes = {
  /** Configuration or flags are invalid; the message lists every bad key. */
  CONFIG_INVALID: 'VK_ERR_CONFIG_INVALID',
  /** The provider has no such pod/container. Maps to HTTP 404. */
  PROVIDER_NOT_FOUND: 'VK_ERR_PROVIDER_NOT_FOUND',
  /** The provider does not implement this operation. Maps to HTTP 501. */
  PROVIDER_NOT_IMPLEMENTED: 'VK_ERR_PROVIDER_NOT_IMPLEMENTED',
  /** The provider refused the request for good (bad image, invalid spec): no retry. */
  PROVIDER_PERMANENT: 'VK_ERR_PROVIDER_PERMANENT',
  /**
   * The provider cannot get a container's image (not found, no access). On create, retried with
   * backoff, never final: the pod stays Pending with the container waiting in ErrImagePull /
   * ImagePullBackOff, as the kubelet keeps it, until the image can be had. On an in-place image change,
   * a Warning Event, and the pod keeps running what it ran until the next spec change.
   * `details`: { container, image }.
   */
  PROVIDER_IMAGE_PULL: 'VK_ERR_PROVIDER_IMAGE_PULL',
  /** The provider failed in a way that may pass (throttling, 5xx, timeouts): retry. */
  PROVIDER_TRANSIENT: 'VK_ERR_PROVIDER_TRANSIENT',
  /** A pod spec references something we cannot provide (unsupported field, ...). */
  POD_INVALID: 'VK_ERR_POD_INVALID',
  /** A mandatory ConfigMap/Secret (or key) is missing; retried until it appears. */
  POD_REFERENCE_MISSING: 'VK_ERR_POD_REFERENCE_MISSING',
  /** A request to kubelet-api is malformed. Maps to HTTP 400. */
  REQUEST_INVALID: 'VK_ERR_REQUEST_INVALID',
  /** Authentication failed. Maps to HTTP 401. */
  UNAUTHENTICATED: 'VK_ERR_UNAUTHENTICATED',
  /** Authorization denied. Maps to HTTP 403. */
  FORBIDDEN: 'VK_ERR_FORBIDDEN',
  /** Authorization could not be decided (SubjectAccessReview failed). Maps to HTTP 500 with the kubelet's message. */
  AUTHORIZATION_UNAVAILABLE: 'VK_ERR_AUTHORIZATION_UNAVAILABLE',
  /** No serving certificate could be obtained (CSR denied, failed or not issued in time). */
  CERTIFICATE_UNAVAILABLE: 'VK_ERR_CERTIFICATE_UNAVAILABLE',
  /** The Kubernetes API server answered with an error we cannot handle here. */
  KUBE_API: 'VK_ERR_KUBE_API',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class VkError extends Error {
  readonly code: ErrorCode;
  /** Extra, non-secret context for logs and HTTP bodies. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'VkError';
    this.code = code;
    this.details = options.details;
  }
}

function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function hasCode(err: unknown, code: ErrorCode): boolean {
  return codeOf(err) === code;
}

export function isNotFound(err: unknown): boolean {
  return hasCode(err, ErrorCodes.PROVIDER_NOT_FOUND);
}

export function isNotImplemented(err: unknown): boolean {
  return hasCode(err, ErrorCodes.PROVIDER_NOT_IMPLEMENTED);
}

/** Permanent errors fail a job without retry; everything else is retried with backoff. */
export function isPermanent(err: unknown): boolean {
  const code = codeOf(err);
  return code === ErrorCodes.PROVIDER_PERMANENT || code === ErrorCodes.POD_INVALID;
}

export function isRetryable(err: unknown): boolean {
  return !isPermanent(err);
}
