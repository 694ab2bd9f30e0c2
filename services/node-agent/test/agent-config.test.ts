import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveAgentSettings, type RawAgentFlags } from '../src/agent-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'vk-cfg-'));
const goodProviderConfig = join(dir, 'mock.toml');
writeFileSync(goodProviderConfig, 'endpoint = "http://127.0.0.1:1"\n');

function flags(over: Partial<RawAgentFlags> = {}): RawAgentFlags {
  return {
    nodename: 'vk', os: 'Linux', provider: 'mock', providerConfig: goodProviderConfig, internalIp: '127.0.0.1', kubeletPort: 10250,
    clusterDomain: 'cluster.local', startupTimeout: '0', healthPort: 8080, kubeApiQps: 50, kubeApiBurst: 100,
    nodeLeaseDurationSeconds: 40, nodeLeaseRenewIntervalSeconds: 10, nodeStatusUpdateIntervalSeconds: 60, resyncIntervalSeconds: 60, statusSyncIntervalSeconds: 5,
    leaderElect: false, leaderElectionNamespace: 'kube-system', leaderElectionName: 'vk', leaderElectionLeaseDuration: 15,
    leaderElectionRenewDeadline: 10, leaderElectionRetryPeriod: 2, ...over,
  };
}

describe('node-agent configuration', () => {
  it('defaults the taint to virtual-kubelet.io/provider=<provider>:NoSchedule and fills provider defaults', () => {
    const s = resolveAgentSettings(flags());
    assert.deepEqual(s.nodes[0]!.taint, { key: 'virtual-kubelet.io/provider', value: 'mock', effect: 'NoSchedule' });
    assert.equal(s.nodes[0]!.providerConfig['pods'], '1000');
    assert.equal(s.nodes[0]!.operatingSystem, 'linux');
  });

  it('reads numbers given as text (flags, env) as the numeric defaults commander hands over as numbers', () => {
    const asText = resolveAgentSettings(flags({ kubeletPort: '10251', healthPort: '0', kubeApiQps: '-1', nodeLeaseRenewIntervalSeconds: '2.5', leaderElectionRetryPeriod: '0.5' }));
    assert.equal(asText.nodes[0]!.kubeletPort, 10251);
    assert.equal(asText.healthPort, 0);
    assert.equal(asText.kubeApiQps, -1);
    assert.equal(asText.nodeLeaseRenewIntervalSeconds, 2.5);
    assert.equal(asText.leaderElection.retryPeriodSeconds, 0.5);
    const byDefault = resolveAgentSettings(flags());
    assert.equal(byDefault.nodes[0]!.kubeletPort, 10250);
    assert.equal(byDefault.kubeApiBurst, 100);
    assert.equal(byDefault.leaderElection.leaseDurationSeconds, 15);
  });

  it('accepts a whole taint in --taint, the split env-style form, and --disable-taint', () => {
    assert.deepEqual(resolveAgentSettings(flags({ taint: 'dedicated=burst:NoExecute' })).nodes[0]!.taint, { key: 'dedicated', value: 'burst', effect: 'NoExecute' });
    assert.deepEqual(resolveAgentSettings(flags({ taint: 'k', taintValue: 'v', taintEffect: 'PreferNoSchedule' })).nodes[0]!.taint, { key: 'k', value: 'v', effect: 'PreferNoSchedule' });
    assert.equal(resolveAgentSettings(flags({ disableTaint: true })).nodes[0]!.taint, null);
  });

  it('reads a switch from text as true or false: VKUBELET_DISABLE_TAINT=false keeps the taint, VKUBELET_LEADER_ELECT=false runs no election', () => {
    const off = resolveAgentSettings(flags({ disableTaint: 'false', leaderElect: 'false' }));
    assert.deepEqual(off.nodes[0]!.taint, { key: 'virtual-kubelet.io/provider', value: 'mock', effect: 'NoSchedule' });
    assert.equal(off.leaderElection.enabled, false);
    const on = resolveAgentSettings(flags({ disableTaint: 'TRUE', leaderElect: '1' }));
    assert.equal(on.nodes[0]!.taint, null);
    assert.equal(on.leaderElection.enabled, true);
  });

  it('reports every bad key in one error', () => {
    assert.throws(() => resolveAgentSettings(flags({ taintEffect: 'Maybe', os: 'Plan9', kubeletPort: '-1', internalIp: 'nowhere', nodename: 'Bad_Name' })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'VK_ERR_CONFIG_INVALID');
      for (const part of ['unknown taint effect "Maybe"', '--os: must be Linux or Windows', '--kubelet-port', '--internal-ip: "nowhere" is not an IP address', '"Bad_Name" is not a valid node name']) {
        assert.ok(err.message.includes(part), `message names ${part}:\n${err.message}`);
      }
      return true;
    });
  });

  it('names a health port, kubelet port or client rate that is not a number in range, from flags and from the nodes file', () => {
    const nodes = join(dir, 'nodes.toml');
    writeFileSync(nodes, '[[nodes]]\nname = "a"\nkubelet-port = 0\n[[nodes]]\nname = "b"\nkubelet-port = -5\n');
    assert.throws(() => resolveAgentSettings(flags({ config: nodes, healthPort: 'abc', kubeApiQps: 'fifty', kubeApiBurst: '0' })), (err: Error) => {
      for (const part of [
        `${nodes} nodes[0].kubelet-port: must be an integer from 1 to 65535, got "0"`,
        `${nodes} nodes[1].kubelet-port: must be an integer from 1 to 65535, got "-5"`,
        '--health-port: must be an integer from 0 to 65535, got "abc"',
        '--kube-api-qps: must be a number (<= 0: no limit), got "fifty"',
        '--kube-api-burst: must be an integer >= 1, got "0"',
      ]) assert.ok(err.message.includes(part), `message names ${part}:\n${err.message}`);
      return true;
    });
    assert.equal(resolveAgentSettings(flags({ healthPort: '0' })).healthPort, 0, '0 = any free port');
  });

  it('rejects a node name too long for its hostname label and label keys too long for the API server', () => {
    const long = `${'a'.repeat(64)}`;
    assert.throws(() => resolveAgentSettings(flags({ nodename: long, nodeLabels: `example.com/${'k'.repeat(64)}=v,${'p'.repeat(254)}/k=v` })), (err: Error) => {
      for (const part of [
        `--nodename: "${long}" is 64 characters: at most 63, since it is also the node's kubernetes.io/hostname label`,
        `label key "example.com/${'k'.repeat(64)}" is too long`,
      ]) assert.ok(err.message.includes(part), `message names ${part}:\n${err.message}`);
      assert.match(err.message, /--node-labels: label key "p{254}\/k" is too long/);
      return true;
    });
    assert.equal(resolveAgentSettings(flags({ nodename: 'a'.repeat(63), nodeLabels: `example.com/${'k'.repeat(63)}=v` })).nodes[0]!.name.length, 63);
  });

  it('rejects a mock endpoint that is not http://host[:port]', () => {
    const cases = { 'http://': 'is not a URL', 'http://a b': 'is not a URL', 'http://gw:7070/prefix': 'with no path', 'http://u:p@gw': 'credentials' };
    for (const [endpoint, problem] of Object.entries(cases)) {
      const file = join(dir, `endpoint-${Object.keys(cases).indexOf(endpoint)}.toml`);
      writeFileSync(file, `endpoint = "${endpoint}"\n`);
      assert.throws(() => resolveAgentSettings(flags({ providerConfig: file })), (err: Error) => {
        assert.ok(err.message.includes(`.endpoint: "${endpoint}"`) && err.message.includes(problem), `${endpoint}: ${err.message}`);
        return true;
      });
    }
    const good = join(dir, 'endpoint-good.toml');
    writeFileSync(good, 'endpoint = "http://mock-backend.vk.svc:7070/"\n');
    assert.equal(resolveAgentSettings(flags({ providerConfig: good })).nodes[0]!.providerConfig['endpoint'], 'http://mock-backend.vk.svc:7070/');
  });

  it('rejects unknown keys and negative quantities in the provider config', () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, 'endpoint = "http://x"\nmemory = "-1Gi"\nspeed = 3\n');
    assert.throws(() => resolveAgentSettings(flags({ providerConfig: bad })), (err: Error) => {
      assert.ok(err.message.includes('.memory: must be a quantity like 20, 500m or 100Gi'), err.message);
      assert.match(err.message, /\.speed: unknown key/);
      return true;
    });
  });

  it('takes any --kube-api-qps, every value <= 0 meaning no limit as --help says, and names one that is not a number', () => {
    for (const qps of ['-5', '-1', '0', '-0.5']) assert.equal(resolveAgentSettings(flags({ kubeApiQps: qps })).kubeApiQps, Number(qps), qps);
    for (const qps of ['', ' ', 'Infinity', '5qps']) {
      assert.throws(() => resolveAgentSettings(flags({ kubeApiQps: qps })), (err: Error) => err.message.includes(`--kube-api-qps: must be a number (<= 0: no limit), got "${qps}"`), JSON.stringify(qps));
    }
  });

  it('reports every problem of a nodes file at once: each schema error and the per-node checks of every entry that is a table', () => {
    const nodes = join(dir, 'nodes-many-problems.toml');
    writeFileSync(nodes, [
      '[[nodes]]', 'name = "a"', 'colour = "red"', '',
      '[[nodes]]', 'name = "B"', '',
      '[[nodes]]', 'name = "c"', 'kubelet-port = "x"', 'os = "Plan9"', 'labels = { good = "v", bad = 3, "bad key!" = "v" }', '',
      '[[nodes]]', 'os = "Linux"', 'internal-ip = "nowhere"', '',
    ].join('\n'));
    assert.throws(() => resolveAgentSettings(flags({ config: nodes })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'VK_ERR_CONFIG_INVALID');
      for (const part of [
        `${nodes}.nodes.0.colour: unknown key`,
        `${nodes} nodes[1].name: "B" is not a valid node name`,
        `${nodes}.nodes.2.kubelet-port: must be integer`,
        `${nodes} nodes[2].os: must be Linux or Windows, got "Plan9"`,
        `${nodes}.nodes.2.labels.bad: must be string`,
        `${nodes} nodes[2].labels.bad key!: "bad key!" is not a valid label key`,
        `${nodes}.nodes.3: must have required property 'name'`,
        `${nodes} nodes[3].internal-ip: "nowhere" is not an IP address`,
      ]) assert.ok(err.message.includes(part), `message names ${part}:\n${err.message}`);
      // The values the schema refused are not checked again.
      assert.doesNotMatch(err.message, /nodes\[2\]\.kubelet-port|nodes\[3\]\.name/);
      return true;
    });
  });

  it('rejects lease settings where the renew interval is not shorter than the lease', () => {
    assert.throws(() => resolveAgentSettings(flags({ nodeLeaseRenewIntervalSeconds: '40' })), /must be shorter than --node-lease-duration-seconds/);
  });
});
