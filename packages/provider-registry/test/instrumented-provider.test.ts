import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { ErrorCodes, VkError, type PodRef, type Provider, type ProviderPod } from '@vk-ts/core';
import { instrumentedProvider } from '../src/instrumented-provider.ts';

const ref: PodRef = { namespace: 'ns', name: 'p', uid: 'u1' };
const pod = (name: string): ProviderPod => ({ ref: { ...ref, name }, status: {} });

/** A provider whose methods keep private state (as real ones do): the wrapper must call them on the provider itself. */
class StandInProvider implements Provider {
  readonly name = 'stand-in';
  #failWith: unknown;
  #streamOpen = false;
  fail(err: unknown): void { this.#failWith = err; }
  describeNode() { return { operatingSystem: 'linux' as const, architecture: 'amd64', capacity: {} }; }
  async ping() { if (this.#failWith) throw this.#failWith; }
  async createPod() { if (this.#failWith) throw this.#failWith; return pod('p'); }
  async updatePod() {}
  async deletePod() { return undefined; }
  async getPod() { return pod('p'); }
  async listPods() { return [pod('a'), pod('b')]; }
  async *listPodPages() { yield [pod('a')]; yield [pod('b')]; }
  async getContainerLogs() {
    this.#streamOpen = true;
    // A stream that never ends by itself: it must be counted when handed back, not when it ends.
    return new Readable({ read() {} });
  }
  get streamOpen(): boolean { return this.#streamOpen; }
  async close() {}
}

/** The value of one sample of `name` whose labels include `labels` (undefined when none). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''));
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => ((v as { metricName?: string }).metricName ?? name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('instrumented provider', () => {
  it('counts a failed call under its method and VkError code, and times it as an error', async () => {
    const registry = new Registry();
    const inner = new StandInProvider();
    const provider = instrumentedProvider(inner, registry);
    inner.fail(new VkError(ErrorCodes.PROVIDER_TRANSIENT, 'Cannot create pod "ns/p" in provider: throttled'));
    await assert.rejects(provider.createPod({} as never), { code: ErrorCodes.PROVIDER_TRANSIENT });
    assert.equal(await sample(registry, 'vk_provider_errors_total', { method: 'createPod', code: 'VK_ERR_PROVIDER_TRANSIENT' }), 1);
    assert.equal(await sample(registry, 'vk_provider_request_duration_seconds_count', { method: 'createPod', result: 'error' }), 1);
  });

  it('labels an error without a catalogued code as unknown, never with its own code or message', async () => {
    const registry = new Registry();
    const inner = new StandInProvider();
    const provider = instrumentedProvider(inner, registry);
    inner.fail(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }));
    await assert.rejects(provider.ping());
    assert.equal(await sample(registry, 'vk_provider_errors_total', { method: 'ping', code: 'unknown' }), 1);
    assert.equal(await sample(registry, 'vk_provider_errors_total', { method: 'ping', code: 'ECONNREFUSED' }), undefined);
  });

  it('times successful calls, and a log stream until it is handed back rather than for its life', async () => {
    const registry = new Registry();
    const inner = new StandInProvider();
    const provider = instrumentedProvider(inner, registry);
    assert.equal((await provider.listPods()).length, 2);
    const stream = await provider.getContainerLogs!(ref, 'c', {}, new AbortController().signal);
    assert.ok(inner.streamOpen, 'the call reached the provider');
    assert.equal(await sample(registry, 'vk_provider_request_duration_seconds_count', { method: 'getContainerLogs', result: 'ok' }), 1);
    assert.equal(await sample(registry, 'vk_provider_request_duration_seconds_count', { method: 'listPods', result: 'ok' }), 1);
    stream.destroy();
  });

  it('counts each page of listPodPages as one call and passes the pages on', async () => {
    const registry = new Registry();
    const provider = instrumentedProvider(new StandInProvider(), registry);
    const names: string[] = [];
    for await (const page of provider.listPodPages!()) names.push(...page.map((p) => p.ref.name));
    assert.deepEqual(names, ['a', 'b']);
    assert.equal(await sample(registry, 'vk_provider_request_duration_seconds_count', { method: 'listPodPages', result: 'ok' }), 2);
  });

  it('leaves optional methods absent when the provider lacks them (kubelet-api answers 501), and shares one set of metrics per registry', async () => {
    const registry = new Registry();
    const full = new StandInProvider();
    const bare: Provider = {
      name: 'stand-in', describeNode: () => full.describeNode(), ping: () => full.ping(), createPod: () => full.createPod(), updatePod: () => full.updatePod(),
      deletePod: () => full.deletePod(), getPod: () => full.getPod(), listPods: () => full.listPods(), close: () => full.close(),
    };
    const a = instrumentedProvider(bare, registry);
    const b = instrumentedProvider(new StandInProvider(), registry);
    assert.equal(a.getContainerLogs, undefined);
    assert.equal(a.getStatsSummary, undefined);
    assert.equal(a.listPodPages, undefined);
    assert.equal(a.name, 'stand-in');
    await a.getPod(ref);
    await b.getPod(ref);
    assert.equal(await sample(registry, 'vk_provider_request_duration_seconds_count', { method: 'getPod', result: 'ok' }), 2);
  });
});
