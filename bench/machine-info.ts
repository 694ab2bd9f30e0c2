import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { KubeRestClient } from '@vk-ts/core';
import { REPO_ROOT } from '@vk-ts/testbed';

/** The machine and versions a result was measured with. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverageAtStart: string;
  node: string;
  go: string;
  redis: string;
  kubernetes: string;
  commit: string;
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: REPO_ROOT });
  return (r.stdout || r.stderr || '').split('\n')[0]?.trim() || 'unknown';
}

export async function machineInfo(client: KubeRestClient): Promise<MachineInfo> {
  const version = await client.get<{ gitVersion: string }>('/version');
  // Built from the Go module without version ldflags, the API server reports v0.0.0-master: name the module version instead.
  const module = /k8s\.io\/kubernetes (v\S+)/.exec(readFileSync(join(REPO_ROOT, 'tools/controlplane/go.mod'), 'utf8'))?.[1] ?? 'unknown';
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverageAtStart: firstLine('cat', ['/proc/loadavg']),
    node: process.version,
    go: firstLine('go', ['version']),
    redis: firstLine('redis-server', ['--version']),
    kubernetes: `k8s.io/kubernetes ${module} (reports ${version.gitVersion}; tools/controlplane: etcd + kube-apiserver + kcm + scheduler in one process)`,
    commit: `${firstLine('git', ['rev-parse', '--short', 'HEAD'])}${firstLine('git', ['status', '--porcelain']) === 'unknown' ? '' : ' (+ uncommitted changes)'}`,
  };
}
