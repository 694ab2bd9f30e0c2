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
    nodename: 'vk', os: 'Linux', provider: 'mock', providerConfig: goodProviderConfig, internalIp: '127.0.0.1', kubeletPort: '10250',
    clusterDomain: 'cluster.local', startupTimeout: '0', kubeApiQps: '50', kubeApiBurst: '100',
    nodeLeaseDurationSeconds: '40', nodeLeaseRenewIntervalSeconds: '10', nodeStatusUpdateIntervalSeconds: '60', resyncIntervalSeconds: '60', statusSyncIntervalSeconds: '5',
    leaderElect: false, leaderElectionNamespace: 'kube-system', leaderElectionName: 'vk', leaderElectionLeaseDuration: '15',
    leaderElectionRenewDeadline: '10', leaderElectionRetryPeriod: '2', ...over,
  };
}

describe('node-agent configuration', () => {
  it('defaults the taint to virtual-kubelet.io/provider=<provider>:NoSchedule and fills provider defaults', () => {
    const s = resolveAgentSettings(flags());
    assert.deepEqual(s.nodes[0]!.taint, { key: 'virtual-kubelet.io/provider', value: 'mock', effect: 'NoSchedule' });
    assert.equal(s.nodes[0]!.providerConfig['pods'], '1000');
    assert.equal(s.nodes[0]!.operatingSystem, 'linux');
  });

  it('accepts a whole taint in --taint, the split env-style form, and --disable-taint', () => {
    assert.deepEqual(resolveAgentSettings(flags({ taint: 'dedicated=burst:NoExecute' })).nodes[0]!.taint, { key: 'dedicated', value: 'burst', effect: 'NoExecute' });
    assert.deepEqual(resolveAgentSettings(flags({ taint: 'k', taintValue: 'v', taintEffect: 'PreferNoSchedule' })).nodes[0]!.taint, { key: 'k', value: 'v', effect: 'PreferNoSchedule' });
    assert.equal(resolveAgentSettings(flags({ disableTaint: true })).nodes[0]!.taint, null);
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

  it('rejects unknown keys and negative quantities in the provider config', () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, 'endpoint = "http://x"\nmemory = "-1Gi"\nspeed = 3\n');
    assert.throws(() => resolveAgentSettings(flags({ providerConfig: bad })), (err: Error) => {
      assert.match(err.message, /\.memory: must match pattern/);
      assert.match(err.message, /\.speed: unknown key/);
      return true;
    });
  });

  it('rejects lease settings where the renew interval is not shorter than the lease', () => {
    assert.throws(() => resolveAgentSettings(flags({ nodeLeaseRenewIntervalSeconds: '40' })), /must be shorter than --node-lease-duration-seconds/);
  });
});
