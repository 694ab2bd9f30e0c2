import assert from 'node:assert/strict';
import type { StatsSummary } from '@vk-ts/core';
import { resourceMetricsText } from '../src/routes/resource-metrics-text.ts';

describe('/metrics/resource text', () => {
  const t = '2026-01-01T00:00:10.000Z';
  const ms = Date.parse(t);
  const summary: StatsSummary = {
    node: { nodeName: 'n', startTime: t, cpu: { time: t, usageCoreNanoSeconds: 3e9 }, memory: { time: t, workingSetBytes: 2048 } },
    pods: [{
      podRef: { name: 'web', namespace: 'ns', uid: 'u' }, startTime: t,
      cpu: { time: t, usageCoreNanoSeconds: 1.5e9 }, memory: { time: t, workingSetBytes: 1024 },
      containers: [{ name: 'app', startTime: '2026-01-01T00:00:00.000Z', cpu: { time: t, usageCoreNanoSeconds: 1.5e9 }, memory: { time: t, workingSetBytes: 1024 } }],
    }],
  };

  it('uses the kubelet\'s metric names, labels and per-sample timestamps', () => {
    const text = resourceMetricsText(summary);
    assert.match(text, /^# HELP container_cpu_usage_seconds_total \[STABLE\] /m);
    assert.match(text, /^# TYPE container_cpu_usage_seconds_total counter$/m);
    assert.ok(text.includes(`container_cpu_usage_seconds_total{container="app",namespace="ns",pod="web"} 1.5 ${ms}\n`));
    assert.ok(text.includes(`container_memory_working_set_bytes{container="app",namespace="ns",pod="web"} 1024 ${ms}\n`));
    assert.ok(text.includes(`container_start_time_seconds{container="app",namespace="ns",pod="web"} 1767225600 1767225600000\n`));
    assert.ok(text.includes(`pod_cpu_usage_seconds_total{namespace="ns",pod="web"} 1.5 ${ms}\n`));
    assert.ok(text.includes(`pod_memory_working_set_bytes{namespace="ns",pod="web"} 1024 ${ms}\n`));
    assert.ok(text.includes(`node_cpu_usage_seconds_total 3 ${ms}\n`));
    assert.ok(text.includes(`node_memory_working_set_bytes 2048 ${ms}\n`));
    assert.ok(text.includes('\nscrape_error 0\n'));
  });

  it('reports scrape_error 1 and no samples when the provider failed, and escapes label values', () => {
    assert.match(resourceMetricsText(undefined), /^scrape_error 1$/m);
    const odd = structuredClone(summary);
    odd.pods[0]!.containers[0]!.name = 'a"b\\c';
    assert.ok(resourceMetricsText(odd).includes('container="a\\"b\\\\c"'));
  });
});
