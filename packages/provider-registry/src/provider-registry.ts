import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import {
  ConfigProblems, QUANTITY_PATTERN, compileSchema,
  type NodeDescription, type OperatingSystem, type Provider,
} from '@vk-ts/core';
import { MockProvider } from '@vk-ts/provider-mock';

export const PROVIDER_NAMES = ['mock'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface MockProviderConfig {
  endpoint: string;
  cpu: string;
  memory: string;
  pods: string;
  'ephemeral-storage': string;
  'nvidia.com/gpu'?: string;
}

const mockSchema = compileSchema<MockProviderConfig>({
  type: 'object',
  additionalProperties: false,
  required: ['endpoint'],
  properties: {
    endpoint: { type: 'string', pattern: '^http://' },
    cpu: { type: 'string', pattern: QUANTITY_PATTERN, default: '20' },
    memory: { type: 'string', pattern: QUANTITY_PATTERN, default: '100Gi' },
    pods: { type: 'string', pattern: QUANTITY_PATTERN, default: '1000' },
    // Published so that pods requesting ephemeral storage fit the node (the
    // scheduler treats an absent resource as 0), and so that a downward API
    // limits.ephemeral-storage with no limit reads the node's, as on a kubelet.
    'ephemeral-storage': { type: 'string', pattern: QUANTITY_PATTERN, default: '100Gi' },
    'nvidia.com/gpu': { type: 'string', pattern: QUANTITY_PATTERN },
  },
});

export interface ProviderSpec {
  provider: ProviderName;
  nodeName: string;
  operatingSystem: OperatingSystem;
  /** Reported as pods' hostIP. */
  internalIP: string;
  /** Parsed provider config (validated by validateProviderConfig). */
  config: Record<string, unknown>;
}

/**
 * Reads a provider config file (TOML). Problems (unreadable file, bad TOML)
 * are added to `problems` under `key` instead of thrown.
 */
export function readProviderConfig(path: string, key: string, problems: ConfigProblems): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.add(key, `cannot read provider config "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return {};
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    problems.add(key, `provider config "${path}" is not valid TOML: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
}

/** Validates (and fills defaults of) a provider's config in place. */
export function validateProviderConfig(provider: string, config: Record<string, unknown>, key: string, problems: ConfigProblems): void {
  if (provider === 'mock') {
    if (!mockSchema(config)) problems.addSchemaErrors(key, mockSchema.errors);
    else checkEndpoint(`${key}.endpoint`, config['endpoint'] as string, problems);
    return;
  }
  problems.add(key, `unknown provider "${provider}" (known: ${PROVIDER_NAMES.join(', ')})`);
}

/** The mock backend's address: http://host[:port], nothing after it (its API paths start at the root). */
function checkEndpoint(key: string, endpoint: string, problems: ConfigProblems): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    problems.add(key, `"${endpoint}" is not a URL (expected http://host[:port])`);
    return;
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    problems.add(key, `"${endpoint}" must be http://host[:port] with no path, query, fragment or credentials`);
  }
}

export function createProvider(spec: ProviderSpec): Provider {
  switch (spec.provider) {
    case 'mock': {
      const config = spec.config as unknown as MockProviderConfig;
      const capacity: Record<string, string> = { cpu: config.cpu, memory: config.memory, pods: config.pods, 'ephemeral-storage': config['ephemeral-storage'] };
      if (config['nvidia.com/gpu']) capacity['nvidia.com/gpu'] = config['nvidia.com/gpu'];
      const node: NodeDescription = {
        operatingSystem: spec.operatingSystem,
        architecture: 'amd64',
        capacity,
        osImage: spec.operatingSystem === 'windows' ? 'Windows Server 2022 (mock)' : 'Mock Linux',
        kernelVersion: 'mock',
      };
      return new MockProvider({ endpoint: config.endpoint, nodeName: spec.nodeName, node, hostIP: spec.internalIP });
    }
  }
}
