import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseToml } from 'smol-toml';
import { ConfigProblems, compileSchema, type OperatingSystem } from '@vk-ts/core';
import { checkProviderName, readProviderConfig, validateProviderConfig, type ProviderName } from '@vk-ts/provider-registry';

export const TAINT_EFFECTS = ['NoSchedule', 'NoExecute', 'PreferNoSchedule'] as const;
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

export interface Taint {
  key: string;
  value: string;
  effect: TaintEffect;
}

/** One virtual node, fully resolved. */
export interface NodeSettings {
  name: string;
  provider: ProviderName;
  providerConfig: Record<string, unknown>;
  operatingSystem: OperatingSystem;
  labels: Record<string, string>;
  /** null when the taint is disabled. */
  taint: Taint | null;
  internalIP: string;
  kubeletPort: number;
}

export interface AgentSettings {
  nodes: NodeSettings[];
  kubeconfig: string | undefined;
  clusterDomain: string;
  /** 0 = wait for the API server forever at start-up. */
  startupTimeoutMs: number;
  /** Port of /healthz, /readyz and /metrics; 0 = any free port. */
  healthPort: number;
  kubeApiQps: number;
  kubeApiBurst: number;
  nodeLeaseDurationSeconds: number;
  nodeLeaseRenewIntervalSeconds: number;
  nodeStatusUpdateIntervalSeconds: number;
  /** Every pod is enqueued again and orphans are swept this often. */
  resyncIntervalSeconds: number;
  /** The batch status sync runs this often; 0 = never. */
  statusSyncIntervalSeconds: number;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    leaseDurationSeconds: number;
    renewDeadlineSeconds: number;
    retryPeriodSeconds: number;
  };
}

/** Flags and env as commander hands them over: text from the command line and env, numbers where a numeric default was not overridden. */
export interface RawAgentFlags {
  config?: string;
  kubeconfig?: string;
  nodename: string;
  os: string;
  provider: string;
  providerConfig?: string;
  taint?: string;
  taintValue?: string;
  taintEffect?: string;
  disableTaint?: boolean | string;
  nodeLabels?: string;
  internalIp: string;
  kubeletPort: string | number;
  clusterDomain: string;
  startupTimeout: string;
  healthPort: string | number;
  kubeApiQps: string | number;
  kubeApiBurst: string | number;
  nodeLeaseDurationSeconds: string | number;
  nodeLeaseRenewIntervalSeconds: string | number;
  nodeStatusUpdateIntervalSeconds: string | number;
  resyncIntervalSeconds: string | number;
  statusSyncIntervalSeconds: string | number;
  leaderElect?: boolean | string;
  leaderElectionNamespace: string;
  leaderElectionName: string;
  leaderElectionLeaseDuration: string | number;
  leaderElectionRenewDeadline: string | number;
  leaderElectionRetryPeriod: string | number;
}

/** A `[[nodes]]` table of the --config file; keys mirror the per-node flags. */
interface NodeFileEntry {
  name: string;
  os?: string;
  provider?: string;
  'provider-config'?: string;
  taint?: string;
  'taint-value'?: string;
  'taint-effect'?: string;
  'disable-taint'?: boolean;
  labels?: Record<string, string>;
  'internal-ip'?: string;
  'kubelet-port'?: number;
}

const nodesFileSchema = compileSchema<{ nodes: NodeFileEntry[] }>({
  type: 'object',
  additionalProperties: false,
  required: ['nodes'],
  properties: {
    nodes: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          os: { type: 'string' },
          provider: { type: 'string' },
          'provider-config': { type: 'string' },
          taint: { type: 'string' },
          'taint-value': { type: 'string' },
          'taint-effect': { type: 'string' },
          'disable-taint': { type: 'boolean' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          'internal-ip': { type: 'string' },
          'kubelet-port': { type: 'integer' },
        },
      },
    },
  },
});

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Resolves flags (+ env, already merged by commander), the optional --config
 * file of nodes and each node's provider config into settings. Every problem
 * is collected and reported at once (VK_ERR_CONFIG_INVALID).
 */
export function resolveAgentSettings(flags: RawAgentFlags): AgentSettings {
  const problems = new ConfigProblems();

  const defaults = {
    os: flags.os, provider: flags.provider, providerConfig: flags.providerConfig, taint: flags.taint,
    taintValue: flags.taintValue, taintEffect: flags.taintEffect, disableTaint: problems.boolean('--disable-taint', flags.disableTaint),
    labels: parseLabels('--node-labels', flags.nodeLabels ?? '', problems), internalIP: flags.internalIp,
    kubeletPort: flags.kubeletPort,
  };

  // Checked once, under the flag's name, however many nodes take it as their default.
  const kubeletPortFlag = problems.integer('--kubelet-port', defaults.kubeletPort, 1, 65535);

  let entries: { key: string; entry: Partial<NodeFileEntry> }[];
  if (flags.config) {
    const path = flags.config;
    entries = readNodesFile(path, problems).map(({ index, entry }) => ({ key: `${path} nodes[${index}]`, entry }));
  } else {
    entries = [{ key: '', entry: { name: flags.nodename } }];
  }

  const nodes: NodeSettings[] = [];
  const seen = new Set<string>();
  for (const { key, entry } of entries) {
    const k = (flag: string, fileKey: string): string => (key ? `${key}.${fileKey}` : flag);
    // Absent only from a file entry whose name the schema refused (and reported).
    const name = entry.name ?? '';
    if (entry.name !== undefined) {
      if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) problems.add(k('--nodename', 'name'), `"${name}" is not a valid node name (lower-case DNS subdomain)`);
      // The name is also the node's kubernetes.io/hostname label, whose values are at most 63 characters.
      else if (name.length > 63) problems.add(k('--nodename', 'name'), `"${name}" is ${name.length} characters: at most 63, since it is also the node's kubernetes.io/hostname label`);
      if (seen.has(name)) problems.add(k('--nodename', 'name'), `node "${name}" is listed twice`);
      seen.add(name);
    }

    const os = (entry.os ?? defaults.os).toLowerCase();
    if (os !== 'linux' && os !== 'windows') problems.add(k('--os', 'os'), `must be Linux or Windows, got "${entry.os ?? defaults.os}"`);

    const provider = entry.provider ?? defaults.provider;
    const providerKnown = checkProviderName(provider, k('--provider', 'provider'), problems);

    const providerConfigPath = entry['provider-config'] ?? defaults.providerConfig;
    const providerConfigKey = k('--provider-config', 'provider-config');
    const providerConfig = providerConfigPath ? readProviderConfig(providerConfigPath, providerConfigKey, problems) : {};
    if (providerKnown) {
      validateProviderConfig(provider, providerConfig, providerConfigPath ? `${providerConfigKey} (${providerConfigPath})` : providerConfigKey, problems);
    }

    let taint: Taint | null = null;
    if (!(entry['disable-taint'] ?? defaults.disableTaint)) {
      taint = parseTaint({
        spec: entry.taint ?? defaults.taint,
        value: entry['taint-value'] ?? defaults.taintValue,
        effect: entry['taint-effect'] ?? defaults.taintEffect,
        provider,
        key: k('--taint', 'taint'),
        effectKey: k('--taint-effect', 'taint-effect'),
      }, problems);
    }

    const labels = { ...defaults.labels, ...(entry.labels ?? {}) };
    for (const [lk, lv] of Object.entries(entry.labels ?? {})) checkLabel(k('--node-labels', `labels.${lk}`), lk, lv, problems);

    const internalIP = entry['internal-ip'] ?? defaults.internalIP;
    if (!isIP(internalIP)) problems.add(k('--internal-ip', 'internal-ip'), `"${internalIP}" is not an IP address`);
    const kubeletPort = entry['kubelet-port'] === undefined
      ? kubeletPortFlag
      : problems.integer(k('--kubelet-port', 'kubelet-port'), entry['kubelet-port'], 1, 65535);

    nodes.push({
      name, provider: provider as ProviderName, providerConfig, operatingSystem: os as OperatingSystem,
      labels, taint, internalIP, kubeletPort,
    });
  }

  const settings: AgentSettings = {
    nodes,
    kubeconfig: flags.kubeconfig || undefined,
    clusterDomain: flags.clusterDomain,
    startupTimeoutMs: parseDurationMs('--startup-timeout', flags.startupTimeout, problems),
    healthPort: problems.integer('--health-port', flags.healthPort, 0, 65535),
    // <= 0 turns the client-side limit off (as --help says), so there is no minimum.
    kubeApiQps: problems.finiteNumber('--kube-api-qps', flags.kubeApiQps, '<= 0: no limit'),
    kubeApiBurst: problems.integer('--kube-api-burst', flags.kubeApiBurst, 1),
    nodeLeaseDurationSeconds: problems.integer('--node-lease-duration-seconds', flags.nodeLeaseDurationSeconds, 1),
    nodeLeaseRenewIntervalSeconds: problems.number('--node-lease-renew-interval-seconds', flags.nodeLeaseRenewIntervalSeconds, 0.1),
    nodeStatusUpdateIntervalSeconds: problems.number('--node-status-update-interval-seconds', flags.nodeStatusUpdateIntervalSeconds, 1),
    resyncIntervalSeconds: problems.number('--resync-interval-seconds', flags.resyncIntervalSeconds, 1),
    statusSyncIntervalSeconds: problems.number('--status-sync-interval-seconds', flags.statusSyncIntervalSeconds, 0),
    leaderElection: {
      enabled: problems.boolean('--leader-elect', flags.leaderElect),
      namespace: flags.leaderElectionNamespace,
      name: flags.leaderElectionName,
      leaseDurationSeconds: problems.number('--leader-election-lease-duration', flags.leaderElectionLeaseDuration, 1),
      renewDeadlineSeconds: problems.number('--leader-election-renew-deadline', flags.leaderElectionRenewDeadline, 0.5),
      retryPeriodSeconds: problems.number('--leader-election-retry-period', flags.leaderElectionRetryPeriod, 0.1),
    },
  };
  if (settings.nodeLeaseRenewIntervalSeconds >= settings.nodeLeaseDurationSeconds) {
    problems.add('--node-lease-renew-interval-seconds', `must be shorter than --node-lease-duration-seconds (${settings.nodeLeaseDurationSeconds})`);
  }
  const le = settings.leaderElection;
  if (le.enabled && !(le.retryPeriodSeconds < le.renewDeadlineSeconds && le.renewDeadlineSeconds < le.leaseDurationSeconds)) {
    problems.add('--leader-election-renew-deadline', 'leader election needs retry period < renew deadline < lease duration');
  }
  problems.throwIfAny('node-agent configuration');
  return settings;
}

/**
 * The `[[nodes]]` entries of the --config file, each with its index in the
 * file. Every schema problem is added; an entry that is a table is still
 * returned (without the values the schema refused) so that the per-node checks
 * report its other problems in the same error.
 */
function readNodesFile(path: string, problems: ConfigProblems): { index: number; entry: Partial<NodeFileEntry> }[] {
  let parsed: unknown;
  try {
    parsed = parseToml(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    problems.add('--config', e.code ? `cannot read "${path}": ${e.code}` : `"${path}" is not valid TOML: ${e.message.split('\n')[0]}`);
    return [];
  }
  if (nodesFileSchema(parsed)) return parsed.nodes.map((entry, index) => ({ index, entry }));
  const errors = nodesFileSchema.errors ?? [];
  problems.addSchemaErrors(path, errors);
  const nodes = isTable(parsed) ? parsed['nodes'] : undefined;
  if (!Array.isArray(nodes)) return [];
  const entries = nodes.map((entry: unknown, index) => ({ index, entry: isTable(entry) ? { ...entry } : undefined }));
  // Drop what the schema refused: "/nodes/1/kubelet-port", or one label, "/nodes/1/labels/a".
  for (const e of errors) {
    const [, nodesKey, index, field, label] = e.instancePath.split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const entry = nodesKey === 'nodes' ? entries[Number(index)]?.entry : undefined;
    if (!entry || field === undefined) continue;
    if (field === 'labels' && label !== undefined && isTable(entry['labels'])) {
      const labels = { ...entry['labels'] };
      delete labels[label];
      entry['labels'] = labels;
    } else {
      delete entry[field];
    }
  }
  return entries.flatMap(({ index, entry }) => (entry ? [{ index, entry: entry as Partial<NodeFileEntry> }] : []));
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface TaintInput {
  spec: string | undefined;
  value: string | undefined;
  effect: string | undefined;
  provider: string;
  key: string;
  effectKey: string;
}

/**
 * `--taint` takes either a key (virtual-kubelet compatible, value and effect
 * from --taint-value/--taint-effect) or a whole `key=value:Effect`.
 * Default: `virtual-kubelet.io/provider=<provider>:NoSchedule`.
 */
export function parseTaint(input: TaintInput, problems: ConfigProblems): Taint | null {
  let key = input.spec || 'virtual-kubelet.io/provider';
  let value = input.value ?? input.provider;
  let effect = input.effect ?? 'NoSchedule';
  const full = /^([^=:]+)(?:=([^:]*))?:(.+)$/.exec(key);
  if (full) {
    key = full[1]!;
    value = full[2] ?? '';
    effect = full[3]!;
  }
  let ok = true;
  if (!LABEL_KEY.test(key)) { problems.add(input.key, `"${key}" is not a valid taint key`); ok = false; }
  if (!LABEL_VALUE.test(value) || value.length > 63) { problems.add(input.key, `"${value}" is not a valid taint value`); ok = false; }
  if (!(TAINT_EFFECTS as readonly string[]).includes(effect)) {
    problems.add(full ? input.key : input.effectKey, `unknown taint effect "${effect}" (use ${TAINT_EFFECTS.join(', ')})`);
    ok = false;
  }
  return ok ? { key, value, effect: effect as TaintEffect } : null;
}

function parseLabels(key: string, raw: string, problems: ConfigProblems): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) { problems.add(key, `"${pair}" is not key=value`); continue; }
    const k = pair.slice(0, eq);
    const v = pair.slice(eq + 1);
    checkLabel(key, k, v, problems);
    labels[k] = v;
  }
  return labels;
}

function checkLabel(key: string, k: string, v: string, problems: ConfigProblems): void {
  const slash = k.lastIndexOf('/');
  const [prefix, name] = slash >= 0 ? [k.slice(0, slash), k.slice(slash + 1)] : ['', k];
  if (!LABEL_KEY.test(k)) problems.add(key, `"${k}" is not a valid label key`);
  else if (prefix.length > 253 || name.length > 63) problems.add(key, `label key "${k}" is too long (prefix at most 253 characters, name at most 63)`);
  if (!LABEL_VALUE.test(v) || v.length > 63) problems.add(key, `"${v}" is not a valid label value for "${k}"`);
}

/** `30s`, `2m`, `1h`, `500ms` or a bare number of seconds. */
export function parseDurationMs(key: string, raw: string, problems: ConfigProblems): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) {
    problems.add(key, `"${raw}" is not a duration (e.g. 30s, 2m, 0)`);
    return 0;
  }
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * factor;
}
