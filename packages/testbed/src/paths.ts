import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is packages/testbed/src/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The control plane binary that tools/controlplane/build.sh produces. */
export const CONTROLPLANE_BINARY = join(REPO_ROOT, 'tools/controlplane/bin/controlplane');
