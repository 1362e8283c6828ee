import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

export const DKIM_ALGORITHMS = ['rsa-2048', 'rsa-1024', 'rsa-4096', 'ed25519'] as const;
export type DkimAlgorithm = (typeof DKIM_ALGORITHMS)[number];

/** A freshly generated DKIM key: the DNS `p=` value and the private key as PKCS#8 PEM. */
export interface DkimKeyPair {
  algorithm: DkimAlgorithm;
  /** `k=` tag value. */
  keyType: 'rsa' | 'ed25519';
  /** `p=` tag value: base64 SPKI DER for RSA, the raw 32-byte key for ed25519 (RFC 8463). */
  publicKey: string;
  privateKeyPem: string;
}

// RFC 8410 PKCS#8 prefix for an Ed25519 private key: the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// RFC 8410 SPKI prefix for an Ed25519 public key: the 32-byte key follows.
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function rsaKeyPair(bits: number): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    // With a callback and no custom PRNG, node-forge hands generation to Node's native
    // crypto.generateKeyPair (off the event loop); the pure-JS path is >10x slower.
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 }, (err, keypair) => (err ? reject(err) : resolve(keypair)));
  });
}

function toPem(type: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${type}-----\n${b64.endsWith('\n') ? b64 : `${b64}\n`}-----END ${type}-----\n`;
}

/** Generates a DKIM key pair with node-forge. */
export async function generateDkimKeyPair(algorithm: DkimAlgorithm): Promise<DkimKeyPair> {
  if (algorithm === 'ed25519') {
    const seed = randomBytes(32);
    const kp = forge.pki.ed25519.generateKeyPair({ seed });
    const publicKey = Buffer.from(kp.publicKey as unknown as Uint8Array);
    return {
      algorithm,
      keyType: 'ed25519',
      publicKey: publicKey.toString('base64'),
      privateKeyPem: toPem('PRIVATE KEY', Buffer.concat([ED25519_PKCS8_PREFIX, seed])),
    };
  }
  const bits = Number(algorithm.slice(4));
  const kp = await rsaKeyPair(bits);
  const spki = forge.asn1.toDer(forge.pki.publicKeyToAsn1(kp.publicKey)).getBytes();
  const pkcs8 = forge.asn1.toDer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(kp.privateKey))).getBytes();
  return {
    algorithm,
    keyType: 'rsa',
    publicKey: Buffer.from(spki, 'binary').toString('base64'),
    privateKeyPem: toPem('PRIVATE KEY', Buffer.from(pkcs8, 'binary')),
  };
}
