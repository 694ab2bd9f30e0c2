import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterServer, loadKubeConfig } from '../src/kube-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'vk-kubeconfig-'));

function kubeconfig(name: string, user: Record<string, unknown>, context = 'ctx'): string {
  const path = join(dir, name);
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config', `current-context: ${context}`,
    'clusters:', '- name: c', '  cluster:', '    server: https://127.0.0.1:6443', '    certificate-authority: ca.crt',
    'contexts:', '- name: ctx', '  context: {cluster: c, user: u}',
    'users:', '- name: u', `  user: ${JSON.stringify(user)}`, '',
  ].join('\n'));
  return path;
}

describe('loadKubeConfig', () => {
  it('reads the current context with files relative to the kubeconfig, and re-reads token files', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
    writeFileSync(join(dir, 'token'), 'first\n');
    const kc = loadKubeConfig({ kubeconfigPath: kubeconfig('token.yaml', { tokenFile: 'token' }) });
    assert.deepEqual(kc.getCurrentCluster(), { server: 'https://127.0.0.1:6443' });
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    assert.equal(String(opts.ca), 'CA PEM');
    assert.equal((opts.headers as Record<string, string>)['authorization'], 'Bearer first');
    writeFileSync(join(dir, 'token'), 'rotated\n');
    const again: RequestOptions = {};
    await kc.applyToHTTPSOptions(again);
    assert.equal((again.headers as Record<string, string>)['authorization'], 'Bearer rotated');
  });

  it('hands client certificates given as data to TLS', async () => {
    const kc = loadKubeConfig({ kubeconfigPath: kubeconfig('cert.yaml', { 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64') }) });
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    assert.equal(String(opts.cert), 'CERT');
    assert.equal(String(opts.key), 'KEY');
    assert.equal((opts.headers as Record<string, string>)['authorization'], undefined);
  });

  it('names the problem: missing file, unknown context', () => {
    assert.throws(() => loadKubeConfig({ kubeconfigPath: join(dir, 'absent.yaml') }), /kubeconfig ".*absent\.yaml": ENOENT/);
    assert.throws(() => loadKubeConfig({ kubeconfigPath: kubeconfig('bad-ctx.yaml', {}, 'nope') }), /current-context "nope" is not among its contexts/);
  });

  it('builds the in-cluster server URL as client-go does, brackets for IPv6', () => {
    assert.equal(inClusterServer('10.96.0.1', '443'), 'https://10.96.0.1:443');
    assert.equal(inClusterServer('fd00::1', ''), 'https://[fd00::1]:443');
    assert.equal(inClusterServer(undefined, '443'), undefined);
  });
});
