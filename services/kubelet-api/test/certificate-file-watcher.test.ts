import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import forge from 'node-forge';
import { createLogger } from '@vk-ts/core';
import { waitFor } from '@vk-ts/testbed';
import { CertificateFileWatcher } from '../src/tls/certificate-file-watcher.ts';
import type { ServingMaterial } from '../src/tls/serving-material.ts';

/** A self-signed pair whose serial tells it apart. */
function selfSigned(serial: string): ServingMaterial {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(key.n, key.e);
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'test' }]);
  cert.setIssuer([{ name: 'commonName', value: 'test' }]);
  cert.sign(key, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

describe('CertificateFileWatcher', function () {
  this.timeout(20_000);
  let dir: string;
  let watcher: CertificateFileWatcher | undefined;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vk-certs-')); });
  afterEach(() => { watcher?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('hands over each new pair once when the files change, and ignores a mismatched pair until it is fixed', async () => {
    const a = selfSigned('0a');
    const b = selfSigned('0b');
    const c = selfSigned('0c');
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, a.cert);
    writeFileSync(keyFile, a.key);
    const seen: ServingMaterial[] = [];
    const logged: string[] = [];
    const destination = new Writable({
      write(line: Buffer, _encoding, done) { logged.push((JSON.parse(line.toString()) as { msg: string }).msg); done(); },
    });
    watcher = new CertificateFileWatcher({ certFile, keyFile, logger: createLogger({ service: 'test', level: 'debug', destination }), onChange: (m) => seen.push(m) });
    assert.equal((await watcher.load()).cert, a.cert);
    watcher.start();

    writeFileSync(certFile, b.cert); // the key is still a's: not a pair, must not be handed over
    await waitFor('the mismatched pair to be looked at', () => logged.some((m) => m.includes('not a valid pair')));
    assert.deepEqual(seen, [], 'a mismatched pair was handed over');

    writeFileSync(keyFile, b.key);
    await waitFor('the new pair', () => seen.length > 0);
    const before = logged.length;
    writeFileSync(join(dir, 'unrelated'), 'x'); // a change in the directory that leaves the pair as it was
    await waitFor('the unchanged pair to be re-read', () => logged.slice(before).some((m) => m.includes('unchanged')));
    writeFileSync(certFile, c.cert);
    writeFileSync(keyFile, c.key);
    await waitFor('the next pair', () => seen.length > 1);
    assert.deepEqual(seen, [b, c], 'each valid pair is handed over once, in order');
  });

  it('refuses to load a key that does not match the certificate', async () => {
    const a = selfSigned('01');
    const b = selfSigned('02');
    writeFileSync(join(dir, 'c'), a.cert);
    writeFileSync(join(dir, 'k'), b.key);
    watcher = new CertificateFileWatcher({ certFile: join(dir, 'c'), keyFile: join(dir, 'k'), logger: createLogger({ service: 'test', level: 'silent' }), onChange: () => undefined });
    await assert.rejects(watcher.load());
  });
});
