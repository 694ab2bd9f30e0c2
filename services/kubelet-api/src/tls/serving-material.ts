import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';

/** A serving certificate (PEM, leaf first, chain may follow) and its private key (PEM). */
export interface ServingMaterial {
  cert: string;
  key: string;
}

/** The TLS context options of kubelet-api's port: TLS 1.2+, client certificates verified against `clientCa`. */
export function secureContextOptions(material: ServingMaterial, clientCa: string | undefined): SecureContextOptions {
  return { cert: material.cert, key: material.key, minVersion: 'TLSv1.2', ...(clientCa ? { ca: clientCa } : {}) };
}

/** Throws when the key does not match the certificate or either does not parse. */
export function checkServingMaterial(material: ServingMaterial): void {
  createSecureContext({ cert: material.cert, key: material.key });
}

/** Swaps the serving certificate of a listening server; new connections use it, open ones keep theirs. */
export function applyServingMaterial(server: TlsServer, material: ServingMaterial, clientCa: string | undefined): void {
  server.setSecureContext(secureContextOptions(material, clientCa));
}

export function leafCertificate(material: ServingMaterial): X509Certificate {
  return new X509Certificate(material.cert);
}
