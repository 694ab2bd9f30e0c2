import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild, waitForExit } from './child-process.ts';
import { freePort } from './free-port.ts';
import { CONTROLPLANE_BINARY } from './paths.ts';

export interface ControlPlaneOptions {
  /** Defaults to a fresh temp dir; removed on close unless keepData. */
  dataDir?: string;
  keepData?: boolean;
  binary?: string;
  /** E.g. '12s': how fast the node lifecycle controller marks a silent node NotReady. */
  nodeMonitorGracePeriod?: string;
  /** API server verifies kubelet serving certs against the cluster CA. */
  verifyKubeletServing?: boolean;
  /** E.g. '3m': the longest lifetime of CSR-issued certificates (the signer backdates them 5 minutes). */
  clusterSigningDuration?: string;
  /** Serve Go's pprof handlers on 127.0.0.1 at a free port (see `pprofUrl`): for profiling the control plane in benchmarks. */
  pprof?: boolean;
  /** Keep the API server's audit log of pod and node writes (who, what, answer code) at `auditLogPath`. */
  auditLog?: boolean;
  /** Give up waiting for the ready line after this long. */
  startTimeoutMs?: number;
}

interface ReadyLine {
  event: 'ready';
  kubeconfig: string;
  server: string;
  pki: string;
  pid: number;
  startupMs: number;
}

/**
 * A real control plane (etcd + kube-apiserver + controller manager + scheduler)
 * from tools/controlplane, on ports of its own so parallel runs never collide.
 */
export class ControlPlane {
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly pkiDir: string;
  readonly dataDir: string;
  readonly startupMs: number;
  /** The audit log of pod and node writes when started with `auditLog`: one JSON event per line. */
  readonly auditLogPath: string | undefined;
  /** http://127.0.0.1:<port> of Go's pprof handlers when started with `pprof`. */
  readonly pprofUrl: string | undefined;
  readonly #child: ChildProcess;
  #closing: Promise<void> | undefined;

  private constructor(child: ChildProcess, ready: ReadyLine, dataDir: string, pprofUrl: string | undefined, auditLogPath: string | undefined) {
    this.pprofUrl = pprofUrl;
    this.auditLogPath = auditLogPath;
    this.#child = child;
    this.kubeconfigPath = ready.kubeconfig;
    this.server = ready.server;
    this.pkiDir = ready.pki;
    this.startupMs = ready.startupMs;
    this.dataDir = dataDir;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binary = options.binary ?? CONTROLPLANE_BINARY;
    if (!existsSync(binary)) {
      throw new Error(`control plane binary ${binary} is missing: run "bash tools/controlplane/build.sh" (npm test and npm run dev do it)`);
    }
    let lastError: Error | undefined;
    // Ports are picked free but may be taken before the control plane binds them: retry on exit code 2.
    for (let attempt = 0; attempt < 3; attempt++) {
      const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vk-cp-'));
      const args = [
        '--data-dir', dataDir,
        '--apiserver-port', String(await freePort()),
        '--etcd-client-port', String(await freePort()),
        '--etcd-peer-port', String(await freePort()),
      ];
      if (options.keepData) args.push('--keep-data');
      if (options.nodeMonitorGracePeriod) args.push('--node-monitor-grace-period', options.nodeMonitorGracePeriod);
      if (options.verifyKubeletServing) args.push('--verify-kubelet-serving');
      if (options.clusterSigningDuration) args.push('--cluster-signing-duration', options.clusterSigningDuration);
      const pprofUrl = options.pprof ? `http://127.0.0.1:${await freePort()}` : undefined;
      if (pprofUrl) args.push('--pprof-addr', pprofUrl.slice('http://'.length));
      const auditLogPath = options.auditLog ? join(dataDir, 'audit.log') : undefined;
      if (auditLogPath) args.push('--audit-log', auditLogPath);
      const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const ready = await readReadyLine(child, options.startTimeoutMs ?? 120_000);
      if (ready) return new ControlPlane(child, ready, dataDir, pprofUrl, auditLogPath);
      const code = await waitForExit(child);
      lastError = new Error(`control plane exited (${code}) before ready: ${stderr.trim() || 'no message'} (log: ${dataDir}/controlplane.log)`);
      if (code !== 2) break;
    }
    throw lastError ?? new Error('control plane did not start');
  }

  /** SIGTERM and wait for exit; idempotent. */
  close(): Promise<void> {
    this.#closing ??= stopChild(this.#child, 15_000).then(() => undefined);
    return this.#closing;
  }
}

async function readReadyLine(child: ChildProcess, timeoutMs: number): Promise<ReadyLine | undefined> {
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  try {
    for await (const line of lines) {
      const parsed = JSON.parse(line) as Partial<ReadyLine>;
      if (parsed.event === 'ready') return parsed as ReadyLine;
    }
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
