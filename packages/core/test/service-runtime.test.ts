import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { serviceV8Flags } from '../src/index.ts';

const root = join(import.meta.dirname, '../../..');

/** The V8 flags in a command line: the `--` words between `node` and the bundle it runs. */
function flagsBefore(command: string, bundle: string): string[] {
  const words = command.split(/\s+/).map((w) => w.replace(/^["']|["']$/g, ''));
  const at = words.indexOf(bundle);
  assert.ok(at > 0, `"${bundle}" is not started by: ${command}`);
  const node = words.lastIndexOf('node', at);
  return words.slice(node + 1, at);
}

describe('service V8 flags', () => {
  // Where a service is started outside packages/core (npm start, compose), the flags are spelled out again.
  for (const service of ['node-agent', 'pod-worker', 'kubelet-api']) {
    it(`${service}: npm start runs the bundle with serviceV8Flags`, () => {
      const pkg = JSON.parse(readFileSync(join(root, 'services', service, 'package.json'), 'utf8')) as { scripts: { start: string } };
      assert.deepEqual(flagsBefore(pkg.scripts.start, 'dist/main.js'), [...serviceV8Flags(service)]);
    });
  }

  it('docker-compose.yml runs every service and the mock backend with serviceV8Flags', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command?: string }> };
    const bundles: Record<string, string> = {
      'node-agent': 'services/node-agent/dist/main.js',
      'pod-worker': 'services/pod-worker/dist/main.js',
      'kubelet-api': 'services/kubelet-api/dist/main.js',
      'mock-backend': 'providers/mock/dist/mock-backend-main.js',
    };
    for (const [name, bundle] of Object.entries(bundles)) {
      const command = compose.services[name]?.command;
      assert.ok(command, `compose has no command for ${name}`);
      assert.deepEqual(flagsBefore(command, bundle), [...serviceV8Flags(name)], name);
    }
  });

  it('docker-compose.yml gives the three services one node, a kubeconfig, and a provider config in the repository that points at its mock backend', () => {
    type Service = { command?: string; environment?: Record<string, string> };
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
    const nodes = new Set<string>();
    for (const name of ['node-agent', 'pod-worker', 'kubelet-api']) {
      const env = compose.services[name]?.environment ?? {};
      assert.ok(env['KUBECONFIG'], `${name} has no KUBECONFIG`);
      assert.ok(env['DEFAULT_NODE_NAME'], `${name} names no node: it would consume another node's queue`);
      nodes.add(env['DEFAULT_NODE_NAME']);
      const config = env['VKUBELET_PROVIDER_CONFIG'] ?? '';
      assert.ok(config.startsWith('/app/'), `${name} has no provider config in the mounted repository`);
      const file = join(root, config.slice('/app/'.length));
      assert.ok(existsSync(file), `${name}: ${file} is not in the repository`);
      const endpoint = new URL(String(parseToml(readFileSync(file, 'utf8'))['endpoint']));
      assert.ok(compose.services[endpoint.hostname], `${name}: the provider endpoint ${endpoint.href} is no compose service`);
    }
    assert.equal(nodes.size, 1, `the services serve different nodes: ${[...nodes].join(', ')}`);
  });
});
