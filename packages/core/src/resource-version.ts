/**
 * Ordering of resourceVersions. Since Kubernetes 1.35 (KEP-5504, stable) the
 * resourceVersions of built-in resources are decimal integers that clients
 * may compare between objects of the same resource; before, they were only
 * promised to be opaque. This follows the rules of apimachinery's
 * `CompareResourceVersion`: a positive integer without leading zeros, of any
 * length; anything else is not comparable (undefined), and callers fall back
 * to equality.
 *
 * @returns negative when a < b, 0 when equal, positive when a > b; undefined when either is malformed.
 */
export function compareResourceVersions(a: string, b: string): number | undefined {
  if (!wellFormed(a) || !wellFormed(b)) return undefined;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function wellFormed(rv: string): boolean {
  return /^[1-9][0-9]*$/.test(rv);
}
