// The bundle table and the build are scripts/build.ts's (npm run build): one list of bundles.
import { buildBundles, bundlePath, type BundleName } from '../../../scripts/build.ts';

export type { BundleName };

let built = false;

/**
 * The path of a service's bundle, built from the current sources the first
 * time a process asks: tests, the dev stack and the bench run what ships,
 * never a bundle left over from older sources.
 */
export function serviceBundle(name: BundleName): string {
  if (!built) {
    buildBundles();
    built = true;
  }
  return bundlePath(name);
}
