import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigProblems } from '@vk-ts/core';
import { checkProviderName, readProviderConfig, validateProviderConfig } from '../src/provider-registry.ts';

const dir = mkdtempSync(join(tmpdir(), 'vk-provider-registry-'));

/** The problems of a mock provider config file with `text`, as the services report them. */
function problemsOf(text: string | undefined, key = '--provider-config'): string[] {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.toml`);
  if (text !== undefined) writeFileSync(path, text);
  const problems = new ConfigProblems();
  validateProviderConfig('mock', readProviderConfig(path, key, problems), key, problems);
  try {
    problems.throwIfAny('test configuration');
    return [];
  } catch (err) {
    return (err as { details: { problems: string[] } }).details.problems;
  }
}

describe('provider config', () => {
  it('fills the mock defaults of a config with only an endpoint', () => {
    const problems = new ConfigProblems();
    const config: Record<string, unknown> = { endpoint: 'http://127.0.0.1:7070' };
    validateProviderConfig('mock', config, '--provider-config', problems);
    assert.equal(problems.count, 0);
    assert.deepEqual(config, { endpoint: 'http://127.0.0.1:7070', cpu: '20', memory: '100Gi', pods: '1000', 'ephemeral-storage': '100Gi' });
  });

  it('reports a bad endpoint together with the schema problems of the same file', () => {
    assert.deepEqual(problemsOf('endpoint = "http://h/p"\ncpu = "x"\n'), [
      '--provider-config.cpu: must be a quantity like 20, 500m or 100Gi (not negative), got "x"',
      '--provider-config.endpoint: "http://h/p" must be http://host[:port] with no path, query, fragment or credentials',
    ]);
  });

  it('says what a quantity is instead of printing the regular expression, naming the key and the value', () => {
    const problems = problemsOf('endpoint = "http://h"\nmemory = "-1Gi"\n"nvidia.com/gpu" = "two"\npods = 5\n');
    assert.deepEqual(problems, [
      '--provider-config.memory: must be a quantity like 20, 500m or 100Gi (not negative), got "-1Gi"',
      '--provider-config.pods: must be a string, got 5',
      '--provider-config.nvidia.com/gpu: must be a quantity like 20, 500m or 100Gi (not negative), got "two"',
    ]);
    assert.ok(problems.every((p) => !p.includes('pattern') && !p.includes('^[0-9]')), problems.join('\n'));
  });

  it('names a missing endpoint, an endpoint that is not http:// and unknown keys', () => {
    assert.deepEqual(problemsOf('cpu = "4"\nspeed = 3\n'), [
      '--provider-config: missing required key "endpoint" (the mock backend\'s URL, http://host[:port])',
      '--provider-config.speed: unknown key',
    ]);
    assert.deepEqual(problemsOf('endpoint = "https://h:7070"\n'), ['--provider-config.endpoint: "https://h:7070" must start with http:// (expected http://host[:port])']);
    assert.deepEqual(problemsOf('endpoint = 7070\n'), ['--provider-config.endpoint: must be a string, got 7070']);
  });

  it('reports an unreadable or unparsable file once, without problems of the empty config that stands in for it', () => {
    const missing = problemsOf(undefined);
    assert.equal(missing.length, 1, missing.join('\n'));
    assert.match(missing[0]!, /^--provider-config: cannot read provider config ".*\.toml": ENOENT$/);
    const broken = problemsOf('endpoint = \n');
    assert.equal(broken.length, 1, broken.join('\n'));
    assert.match(broken[0]!, /^--provider-config: provider config ".*\.toml" is not valid TOML: /);
  });

  it('names an unknown provider under the given key', () => {
    const problems = new ConfigProblems();
    assert.equal(checkProviderName('mock', '--provider', problems), true);
    assert.equal(checkProviderName('aws', '--provider', problems), false);
    assert.throws(() => problems.throwIfAny('test configuration'), /--provider: unknown provider "aws" \(known: mock\)/);
  });
});
