// Steady-state cost of the node-agent: API requests per minute per node (from
// its own vk_kube_api_requests_total counter) and RSS, with 1 and 10 nodes.
// Run: npm run bench -- node-agent-steady [--seconds 65] (--help lists the flags)
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { badCounts } from './cli-counts.ts';
import { MockBackendServer } from '@vk-ts/provider-mock';
import { ControlPlane, RedisServer, ServiceProcess, freePort, waitFor } from '@vk-ts/testbed';

const opts = new Command('npm run bench -- node-agent-steady')
  .description('Steady-state cost of the node-agent with 1 and 10 virtual nodes: API requests per minute per node and RSS.')
  .option('--seconds <n>', 'how long each node count is watched (the default covers one status and one resync interval)', '65')
  .showHelpAfterError()
  .parse(process.argv)
  .opts<{ seconds: string }>();
const seconds = Number(opts.seconds);
const bad = badCounts({ '--seconds': [seconds] });
if (bad.length) {
  process.stderr.write(`node-agent-steady: bad flags (see --help):\n${bad.map((b) => `  ${b}\n`).join('')}`);
  process.exit(2);
}
const cp = await ControlPlane.start();
const redis = await RedisServer.start();
const mock = new MockBackendServer();
const mockUrl = await mock.listen(0);
const dir = mkdtempSync(join(tmpdir(), 'vk-bench-na-'));
const pc = join(dir, 'mock.toml');
writeFileSync(pc, `endpoint = "${mockUrl}"\n`);

async function metric(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('vk_kube_api_requests_total')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

const rows: string[] = [];
for (const nodes of [1, 10]) {
  const cfg = join(dir, `nodes-${nodes}.toml`);
  writeFileSync(cfg, Array.from({ length: nodes }, (_, i) => `[[nodes]]\nname = "bench-${nodes}-${i}"\nprovider-config = "${pc}"\n`).join('\n'));
  const port = await freePort();
  const agent = ServiceProcess.start('node-agent', ['--kubeconfig', cp.kubeconfigPath, '--config', cfg, '--redis-url', redis.url, '--health-port', String(port), '--log-level', 'warn']);
  await waitFor('ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, { timeoutMs: 60_000 });
  const before = await metric(port);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = await metric(port);
  const rssKb = Number(readFileSync(`/proc/${agent.child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]);
  rows.push(`| ${nodes} | ${((after - before) / nodes / (seconds / 60)).toFixed(1)} | ${(rssKb / 1024).toFixed(0)} |`);
  await agent.stop();
}
console.log(`\nnode-agent steady state over ${seconds} s (default intervals: lease 10 s, status 60 s, resync 60 s)\n`);
console.log('| nodes | API requests / min / node | RSS MB |\n|---|---|---|');
console.log(rows.join('\n'));
await mock.close();
await redis.close();
await cp.close();
