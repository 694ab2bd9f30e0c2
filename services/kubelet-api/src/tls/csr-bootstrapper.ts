import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { V1CertificateSigningRequest, V1Node } from '@kubernetes/client-node';
import { ErrorCodes, VkError, isKubeNotFound, type KubeRestClient, type Logger } from '@vk-ts/core';
import { renewalTime, scheduleAt } from './renewal-time.ts';
import { KUBELET_SERVING_USAGES, createServingCertificateRequest, type ServingSans } from './serving-certificate-request.ts';
import { checkServingMaterial, leafCertificate, type ServingMaterial } from './serving-material.ts';

export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
const CERT_FILE = 'kubelet-api-serving.crt';
const KEY_FILE = 'kubelet-api-serving.key';

export interface CsrBootstrapperOptions {
  client: KubeRestClient;
  logger: Logger;
  nodeName: string;
  /** SANs added to the node's own addresses (e.g. a Service name in front of several replicas). */
  extraSans: ServingSans;
  /** Where the issued certificate and key are kept, so a restart reuses them; none: memory only. */
  certDir?: string;
  /** Called with each renewed certificate (not the first, which start() returns). */
  onRenewed: (material: ServingMaterial) => void;
  /** How often the CSR and the Node are polled while waiting. */
  pollIntervalMs?: number;
  /** Delay before retrying a failed renewal. */
  retryDelayMs?: number;
}

/**
 * Obtains kubelet-api's serving certificate the way a kubelet with
 * serverTLSBootstrap does: a CertificateSigningRequest for signer
 * kubernetes.io/kubelet-serving with the node's addresses as SANs. Someone
 * (an admin, an approver controller) must approve it; kube-controller-manager
 * then issues it. Renews at 70–90% of the lifetime and hands the new pair to
 * onRenewed; a failed renewal is retried, and the old certificate is served
 * until then.
 */
export class CsrBootstrapper {
  readonly #options: CsrBootstrapperOptions;
  readonly #log: Logger;
  #cancelRenewal: (() => void) | undefined;
  readonly #abort = new AbortController();

  constructor(options: CsrBootstrapperOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'csr-bootstrapper', node: options.nodeName });
  }

  /** Resolves with a valid certificate: the kept one if still before its renewal time, else a newly issued one. */
  async start(): Promise<ServingMaterial> {
    const kept = await this.#readKept();
    const material = kept ?? await this.#request();
    this.#scheduleRenewal(material);
    return material;
  }

  /** Idempotent; stops waiting and renewing. */
  close(): void {
    this.#abort.abort();
    this.#cancelRenewal?.();
  }

  #scheduleRenewal(material: ServingMaterial): void {
    const leaf = leafCertificate(material);
    const at = renewalTime(new Date(leaf.validFrom), new Date(leaf.validTo));
    this.#log.info({ notAfter: new Date(leaf.validTo).toISOString(), renewAt: at.toISOString() }, 'serving certificate renewal scheduled');
    this.#cancelRenewal = scheduleAt(at, () => void this.#renew());
  }

  async #renew(): Promise<void> {
    if (this.#abort.signal.aborted) return;
    try {
      const material = await this.#request();
      this.#options.onRenewed(material);
      this.#scheduleRenewal(material);
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      const retryMs = this.#options.retryDelayMs ?? 60_000;
      this.#log.error({ err, retryMs }, 'serving certificate renewal failed: the current certificate is served until a retry succeeds');
      this.#cancelRenewal = scheduleAt(new Date(Date.now() + retryMs), () => void this.#renew());
    }
  }

  async #request(): Promise<ServingMaterial> {
    const sans = await this.#sans();
    const { keyPem, csrPem } = await createServingCertificateRequest(this.#options.nodeName, sans);
    const created = await this.#options.client.create<V1CertificateSigningRequest>('/apis/certificates.k8s.io/v1/certificatesigningrequests', {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { generateName: `csr-${this.#options.nodeName}-`.slice(0, 60), labels: { 'virtual-kubelet.io/node': this.#options.nodeName } },
      spec: { request: Buffer.from(csrPem).toString('base64'), signerName: KUBELET_SERVING_SIGNER, usages: [...KUBELET_SERVING_USAGES] },
    }, { signal: this.#abort.signal });
    const name = created.metadata!.name!;
    this.#log.info({ csr: name, sans }, `waiting for CertificateSigningRequest ${name} to be approved and issued (kubectl certificate approve ${name})`);
    const certPem = await this.#waitForCertificate(name);
    const material = { cert: certPem, key: keyPem };
    checkServingMaterial(material);
    await this.#keep(material);
    this.#log.info({ csr: name, notAfter: new Date(leafCertificate(material).validTo).toISOString() }, 'serving certificate issued');
    return material;
  }

  async #waitForCertificate(name: string): Promise<string> {
    const path = `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`;
    for (;;) {
      const csr = await this.#options.client.get<V1CertificateSigningRequest>(path, { signal: this.#abort.signal });
      const bad = csr.status?.conditions?.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status !== 'False');
      if (bad) {
        throw new VkError(ErrorCodes.CERTIFICATE_UNAVAILABLE, `CertificateSigningRequest ${name} was ${bad.type.toLowerCase()}: ${bad.reason ?? ''} ${bad.message ?? ''}`.trim());
      }
      if (csr.status?.certificate) return Buffer.from(csr.status.certificate, 'base64').toString('utf8');
      await this.#sleep();
    }
  }

  /** The node's addresses as SANs (InternalIP/ExternalIP → IP, Hostname/*DNS → DNS) plus the extra ones; waits for the Node to exist. */
  async #sans(): Promise<ServingSans> {
    const extra = this.#options.extraSans;
    for (let attempt = 0; ; attempt++) {
      let node: V1Node | undefined;
      try {
        node = await this.#options.client.get<V1Node>(`/api/v1/nodes/${encodeURIComponent(this.#options.nodeName)}`, { signal: this.#abort.signal });
      } catch (err) {
        if (!isKubeNotFound(err)) throw err;
      }
      const ipAddresses = new Set(extra.ipAddresses);
      const dnsNames = new Set(extra.dnsNames);
      for (const a of node?.status?.addresses ?? []) {
        if (isIP(a.address)) ipAddresses.add(a.address);
        else if (a.address) dnsNames.add(a.address);
      }
      if (ipAddresses.size + dnsNames.size > 0) return { ipAddresses: [...ipAddresses], dnsNames: [...dnsNames] };
      if (attempt === 0) this.#log.info('waiting for the Node to be registered with addresses before requesting a serving certificate');
      await this.#sleep();
    }
  }

  async #readKept(): Promise<ServingMaterial | undefined> {
    const dir = this.#options.certDir;
    if (!dir) return undefined;
    try {
      const material = { cert: await readFile(join(dir, CERT_FILE), 'utf8'), key: await readFile(join(dir, KEY_FILE), 'utf8') };
      checkServingMaterial(material);
      const leaf = leafCertificate(material);
      if (renewalTime(new Date(leaf.validFrom), new Date(leaf.validTo), () => 0).getTime() <= Date.now()) return undefined;
      if (!leaf.subject.split('\n').includes(`CN=system:node:${this.#options.nodeName}`)) return undefined;
      this.#log.info({ certDir: dir, notAfter: new Date(leaf.validTo).toISOString() }, 'reusing the kept serving certificate');
      return material;
    } catch {
      return undefined;
    }
  }

  async #keep(material: ServingMaterial): Promise<void> {
    const dir = this.#options.certDir;
    if (!dir) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Key first, both via rename: a reader never sees a certificate without its key.
    for (const [file, text] of [[KEY_FILE, material.key], [CERT_FILE, material.cert]] as const) {
      const tmp = join(dir, `.${file}.tmp`);
      await writeFile(tmp, text, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, join(dir, file));
    }
  }

  #sleep(): Promise<void> {
    return new Promise((resolve, reject) => {
      const signal = this.#abort.signal;
      if (signal.aborted) return reject(new VkError(ErrorCodes.CERTIFICATE_UNAVAILABLE, 'stopped while waiting for a serving certificate'));
      const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, this.#options.pollIntervalMs ?? 1000);
      const onAbort = (): void => { clearTimeout(timer); reject(new VkError(ErrorCodes.CERTIFICATE_UNAVAILABLE, 'stopped while waiting for a serving certificate')); };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
