import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/**
 * A copy of the kubeconfig at `kubeconfigPath` (same cluster and CA) whose
 * users authenticate with `token`, e.g. a ServiceAccount's from `kubectl
 * create token`: a client that the real API server holds to that account's
 * RBAC. Returns the new file's path.
 */
export function tokenKubeconfig(kubeconfigPath: string, token: string): string {
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as { users?: { user: Record<string, string> }[] };
  for (const u of config.users ?? []) u.user = { token };
  const path = join(mkdtempSync(join(tmpdir(), 'vk-token-kubeconfig-')), 'kubeconfig');
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}
