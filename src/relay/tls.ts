import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
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

/** Where the relay's certificate comes from: `load()` at start, and again on every reload. */
export interface TlsSource {
  load(): Promise<TlsMaterial>;
}

/**
 * TLS_CERT_FILE/TLS_KEY_FILE when given, read again on every load() so that a renewed
 * certificate is picked up on SIGHUP. Without them, a self-signed certificate made once,
 * with a warning (config.ts refuses that in production), and kept for later loads.
 * A certificate and key that do not make a usable pair are refused: load() rejects,
 * and a reload keeps the material it had.
 */
export function tlsSource(files: { certFile?: string; keyFile?: string }, hostname: string, logger: Logger): TlsSource {
  let selfSigned: Promise<TlsMaterial> | null = null;
  return {
    async load() {
      if (files.certFile && files.keyFile) {
        const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
        // Throws on a key that does not match the certificate (a renewal caught half-written).
        createSecureContext({ cert, key });
        return { cert, key, selfSigned: false };
      }
      if (!selfSigned) {
        logger.warn({ hostname }, 'TLS_CERT_FILE/TLS_KEY_FILE not set: the relay uses a self-signed certificate');
        selfSigned = selfSignedCertificate(hostname).catch((err: unknown) => {
          selfSigned = null;
          throw err;
        });
      }
      return selfSigned;
    },
  };
}
