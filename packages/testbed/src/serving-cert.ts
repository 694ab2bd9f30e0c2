import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServingCertOptions {
  /** The control plane's PKI directory: `ca.crt` and `ca.key` sign the certificate. */
  pkiDir: string;
  /** Where the key, request and certificate are written. */
  dir: string;
  nodeName: string;
  /** IP SANs; `DNS:localhost` is always added. */
  ips?: string[];
  /** Hex serial, which also names the files, so that several pairs can share `dir`. */
  serial?: string;
  /** Validity; 2 days by default, enough for a test run. */
  days?: number;
}

/**
 * A kubelet-api serving certificate signed by the cluster CA, as the
 * kubelet-serving signer would issue it (`system:node:<node>` in
 * `system:nodes`, serverAuth), made with openssl: for tests, benchmarks and
 * the dev stack, which have the CA key at hand instead of a CSR approver.
 */
export async function issueServingCert(options: ServingCertOptions): Promise<{ cert: string; key: string }> {
  const { pkiDir, dir, nodeName, ips = ['127.0.0.1'], serial = '01', days = 2 } = options;
  const key = join(dir, `kubelet-${serial}.key`);
  const csr = join(dir, `kubelet-${serial}.csr`);
  const cert = join(dir, `kubelet-${serial}.crt`);
  const ext = join(dir, `kubelet-${serial}.ext`);
  writeFileSync(ext, `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')},DNS:localhost\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr,
    '-subj', `/O=system:nodes/CN=system:node:${nodeName}`]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', join(pkiDir, 'ca.crt'), '-CAkey', join(pkiDir, 'ca.key'),
    '-set_serial', `0x${serial}`, '-out', cert, '-days', String(days), '-extfile', ext]);
  return { cert, key };
}
