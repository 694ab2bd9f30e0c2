import { request, type RequestOptions } from 'node:https';
import type { KubeConfigLike } from '@vk-ts/core';

/** Requests counted by the API server itself, keyed "VERB resource[/subresource]". */
export type RequestCounts = Record<string, number>;

/**
 * Reads the API server's own `apiserver_request_total` from its /metrics
 * (admin credentials), so the request figures do not depend on any client's
 * counting. Label sets are folded to verb + resource + subresource.
 */
export class ApiserverMetrics {
  readonly #url: URL;
  readonly #tls: RequestOptions;

  private constructor(url: URL, tls: RequestOptions) {
    this.#url = url;
    this.#tls = tls;
  }

  static async create(kubeConfig: KubeConfigLike): Promise<ApiserverMetrics> {
    const tls: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(tls);
    return new ApiserverMetrics(new URL('/metrics', kubeConfig.getCurrentCluster()!.server), tls);
  }

  async requestCounts(): Promise<RequestCounts> {
    const text = await this.#get();
    const counts: RequestCounts = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
      const label = (name: string): string => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1] ?? '';
      const resource = label('resource') || '(non-resource)';
      const sub = label('subresource');
      const key = `${label('verb')} ${resource}${sub ? `/${sub}` : ''}`;
      counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return counts;
  }

  #get(): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(this.#url, { ...this.#tls, method: 'GET', timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(body);
          else reject(new Error(`GET ${this.#url.pathname} of the API server answered ${res.statusCode}: ${body.slice(0, 300)}`));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('GET /metrics of the API server timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}

/** after − before, dropping keys that did not move. */
export function diffCounts(before: RequestCounts, after: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d > 0) out[key] = d;
  }
  return out;
}
