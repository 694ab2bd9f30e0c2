import type { CpuStats, MemoryStats, StatsSummary } from '@vk-ts/core';

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: string[];
}

/**
 * Renders a Summary as the kubelet's /metrics/resource: the Prometheus text
 * format with the kubelet's metric and label names and each sample's own
 * timestamp (ms), which is what metrics-server parses for `kubectl top`.
 * Figures a provider does not know are left out, never reported as zero.
 */
export function resourceMetricsText(summary: StatsSummary | undefined): string {
  const family = (name: string, type: Family['type'], help: string): Family => ({ name, type, help, samples: [] });
  const nodeCpu = family('node_cpu_usage_seconds_total', 'counter', '[STABLE] Cumulative cpu time consumed by the node in core-seconds');
  const nodeMem = family('node_memory_working_set_bytes', 'gauge', '[STABLE] Current working set of the node in bytes');
  const podCpu = family('pod_cpu_usage_seconds_total', 'counter', '[STABLE] Cumulative cpu time consumed by the pod in core-seconds');
  const podMem = family('pod_memory_working_set_bytes', 'gauge', '[STABLE] Current working set of the pod in bytes');
  const ctrCpu = family('container_cpu_usage_seconds_total', 'counter', '[STABLE] Cumulative cpu time consumed by the container in core-seconds');
  const ctrMem = family('container_memory_working_set_bytes', 'gauge', '[STABLE] Current working set of the container in bytes');
  const ctrStart = family('container_start_time_seconds', 'gauge', '[STABLE] Start time of the container since unix epoch in seconds');
  const scrapeError = family('scrape_error', 'gauge', '[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise');
  const resourceScrapeError = family('resource_scrape_error', 'gauge', '[STABLE] 1 if there was an error while getting container metrics, 0 otherwise');

  if (summary) {
    cpu(nodeCpu, '', summary.node.cpu);
    memory(nodeMem, '', summary.node.memory);
    for (const pod of summary.pods) {
      const podLabels = labels({ namespace: pod.podRef.namespace, pod: pod.podRef.name });
      cpu(podCpu, podLabels, pod.cpu);
      memory(podMem, podLabels, pod.memory);
      for (const c of pod.containers) {
        const l = labels({ container: c.name, namespace: pod.podRef.namespace, pod: pod.podRef.name });
        cpu(ctrCpu, l, c.cpu);
        memory(ctrMem, l, c.memory);
        const started = Date.parse(c.startTime);
        if (!Number.isNaN(started)) ctrStart.samples.push(`${ctrStart.name}${l} ${started / 1000} ${started}`);
      }
    }
  }
  const failed = summary ? '0' : '1';
  scrapeError.samples.push(`scrape_error ${failed}`);
  resourceScrapeError.samples.push(`resource_scrape_error ${failed}`);
  return [ctrCpu, ctrMem, ctrStart, nodeCpu, nodeMem, podCpu, podMem, resourceScrapeError, scrapeError]
    .filter((f) => f.samples.length > 0)
    .map((f) => `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.samples.join('\n')}\n`)
    .join('');
}

function cpu(f: Family, l: string, stats: CpuStats | undefined): void {
  if (stats?.usageCoreNanoSeconds === undefined) return;
  f.samples.push(`${f.name}${l} ${stats.usageCoreNanoSeconds / 1e9} ${Date.parse(stats.time)}`);
}

function memory(f: Family, l: string, stats: MemoryStats | undefined): void {
  if (stats?.workingSetBytes === undefined) return;
  f.samples.push(`${f.name}${l} ${stats.workingSetBytes} ${Date.parse(stats.time)}`);
}

function labels(values: Record<string, string>): string {
  const escape = (v: string): string => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  return `{${Object.entries(values).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}
