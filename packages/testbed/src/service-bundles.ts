import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';

export type BundleName = 'node-agent' | 'pod-worker' | 'kubelet-api' | 'mock-backend';

const BUNDLE_FILES: Record<BundleName, string> = {
  'node-agent': 'services/node-agent/dist/main.js',
  'pod-worker': 'services/pod-worker/dist/main.js',
  'kubelet-api': 'services/kubelet-api/dist/main.js',
  'mock-backend': 'providers/mock/dist/mock-backend-main.js',
};

let built = false;

/**
 * The path of a service's bundle (scripts/build.ts), built from the current
 * sources the first time a process asks: tests, the dev stack and the bench
 * run what ships, never a bundle left over from older sources.
 */
export function serviceBundle(name: BundleName): string {
  if (!built) {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/build.ts')], { stdio: ['ignore', 'ignore', 'inherit'] });
    built = true;
  }
  return join(REPO_ROOT, BUNDLE_FILES[name]);
}
