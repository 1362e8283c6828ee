import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import type { Logger } from '../logger';

export interface TlsMaterial {
  key: string;
  cert: string;
  selfSigned: boolean;
}

function generateKeyPair(): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) =>
    forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 }, (err, kp) => (err ? reject(err) : resolve(kp))),
  );
}

/** A self-signed certificate for `hostname`, valid for a year, made with node-forge. */
export async function selfSignedCertificate(hostname: string): Promise<TlsMaterial> {
  const keys = await generateKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  const attrs = [{ name: 'commonName', value: hostname }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert), selfSigned: true };
}

/** TLS_CERT_FILE/TLS_KEY_FILE when given; otherwise a self-signed certificate, with a warning. */
export async function loadTls(files: { certFile?: string; keyFile?: string }, hostname: string, logger: Logger): Promise<TlsMaterial> {
  if (files.certFile && files.keyFile) {
    return { cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8'), selfSigned: false };
  }
  logger.warn({ hostname }, 'TLS_CERT_FILE/TLS_KEY_FILE not set: the relay uses a self-signed certificate');
  return selfSignedCertificate(hostname);
}
