import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import type { ErrorObject } from 'ajv';
import type { Registry } from 'prom-client';
import {
  ConfigProblems, QUANTITY_PATTERN, compileSchema,
  type NodeDescription, type OperatingSystem, type Provider,
} from '@vk-ts/core';
import { MockProvider } from '@vk-ts/provider-mock';
import { instrumentedProvider } from './instrumented-provider.ts';

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
    // Checked by checkEndpoint, which says what is wrong with it.
    endpoint: { type: 'string' },
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

/** What a required key of a provider config holds, said when it is missing. */
const REQUIRED_KEY_MEANINGS: Record<string, string> = {
  endpoint: 'the mock backend\'s URL, http://host[:port]',
};

/** What a pattern of a provider schema stands for, said in problems instead of the regular expression. */
const PATTERN_MEANINGS: Record<string, string> = {
  [QUANTITY_PATTERN]: 'a quantity like 20, 500m or 100Gi (not negative)',
};

/**
 * The configs readProviderConfig returns for a file it could not read or
 * parse: the problem is reported already, so validateProviderConfig does not
 * add "missing endpoint" and the like for the empty stand-in.
 */
const unreadableConfigs = new WeakSet<Record<string, unknown>>();

/**
 * Reads a provider config file (TOML). Problems (unreadable file, bad TOML)
 * are added to `problems` under `key` instead of thrown; the config returned
 * then is empty and validateProviderConfig leaves it alone.
 */
export function readProviderConfig(path: string, key: string, problems: ConfigProblems): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.add(key, `cannot read provider config "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return unreadable();
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    problems.add(key, `provider config "${path}" is not valid TOML: ${(err as Error).message.split('\n')[0]}`);
    return unreadable();
  }
}

function unreadable(): Record<string, unknown> {
  const config = {};
  unreadableConfigs.add(config);
  return config;
}

/** Adds a problem naming `provider` under `key` unless it is a known provider. */
export function checkProviderName(provider: string, key: string, problems: ConfigProblems): provider is ProviderName {
  if ((PROVIDER_NAMES as readonly string[]).includes(provider)) return true;
  problems.add(key, `unknown provider "${provider}" (known: ${PROVIDER_NAMES.join(', ')})`);
  return false;
}

/**
 * Validates (and fills defaults of) a provider's config in place. Every
 * problem is added, the schema's and the checks beyond it alike. A config
 * that readProviderConfig could not read is not validated again.
 */
export function validateProviderConfig(provider: string, config: Record<string, unknown>, key: string, problems: ConfigProblems): void {
  if (provider === 'mock') {
    if (unreadableConfigs.has(config)) return;
    if (!mockSchema(config)) addSchemaProblems(key, config, mockSchema.errors ?? [], problems);
    const endpoint = config['endpoint'];
    if (typeof endpoint === 'string') checkEndpoint(`${key}.endpoint`, endpoint, problems);
    return;
  }
  checkProviderName(provider, key, problems);
}

/** A flat provider schema's errors, each naming the key, the value given and what is expected. */
function addSchemaProblems(key: string, config: Record<string, unknown>, errors: ErrorObject[], problems: ConfigProblems): void {
  for (const e of errors) {
    // A JSON pointer to a top-level key: "/nvidia.com~1gpu" is nvidia.com/gpu.
    const name = e.instancePath.slice(1).replaceAll('~1', '/').replaceAll('~0', '~');
    const given = describeValue(config[name]);
    if (e.keyword === 'required') {
      const missing = String(e.params.missingProperty);
      problems.add(key, `missing required key "${missing}"${REQUIRED_KEY_MEANINGS[missing] ? ` (${REQUIRED_KEY_MEANINGS[missing]})` : ''}`);
    } else if (e.keyword === 'additionalProperties') {
      problems.add(`${key}.${String(e.params.additionalProperty)}`, 'unknown key');
    } else if (e.keyword === 'pattern') {
      const pattern = String(e.params.pattern);
      problems.add(`${key}.${name}`, `must be ${PATTERN_MEANINGS[pattern] ?? `text matching ${pattern}`}, got ${given}`);
    } else if (e.keyword === 'type') {
      problems.add(`${key}.${name}`, `must be a ${String(e.params.type)}, got ${given}`);
    } else {
      problems.add(name ? `${key}.${name}` : key, `${e.message ?? 'invalid'}, got ${given}`);
    }
  }
}

/** A value as the user wrote it: text in quotes, numbers, booleans and tables as TOML shows them. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) return JSON.stringify(value);
  return String(value);
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
  if (url.protocol !== 'http:') {
    problems.add(key, `"${endpoint}" must start with http:// (expected http://host[:port])`);
  } else if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    problems.add(key, `"${endpoint}" must be http://host[:port] with no path, query, fragment or credentials`);
  }
}

export interface CreateProviderOptions {
  /** Where the provider's calls are measured (instrumentedProvider); not measured without it. */
  registry?: Registry;
}

/** The provider `spec` names, its calls measured in `options.registry` when given. */
export function createProvider(spec: ProviderSpec, options: CreateProviderOptions = {}): Provider {
  const provider = createBareProvider(spec);
  return options.registry ? instrumentedProvider(provider, options.registry) : provider;
}

function createBareProvider(spec: ProviderSpec): Provider {
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
