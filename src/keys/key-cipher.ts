import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** An encrypted secret as stored in MongoDB. */
export interface SealedSecret {
  /** Id of the master key that sealed it, so MASTER_KEY can be rotated. */
  kid: string;
  alg: 'A256GCM';
  iv: string;
  tag: string;
  ct: string;
}

/** Key id: the first 16 hex digits of SHA-256 over the master key. Reveals nothing usable. */
export function keyId(masterKey: Buffer): string {
  return createHash('sha256').update('mailwarden-kid:').update(masterKey).digest('hex').slice(0, 16);
}

/**
 * AES-256-GCM encryption of private keys at rest. `aad` binds the ciphertext to its
 * owner (the selector), so a sealed key copied onto another record does not open.
 */
export class KeyCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentKid: string;

  /** @param masterKeys the current key first, then older keys that may still open secrets. */
  constructor(masterKeys: Buffer[]) {
    if (masterKeys.length === 0) throw new Error('KeyCipher needs a master key');
    for (const k of masterKeys) {
      if (k.length !== 32) throw new Error('master keys must be 32 bytes');
      this.keys.set(keyId(k), k);
    }
    this.currentKid = keyId(masterKeys[0]);
  }

  seal(plaintext: string, aad: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKid)!, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      kid: this.currentKid,
      alg: 'A256GCM',
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ct: ct.toString('base64'),
    };
  }

  open(sealed: SealedSecret, aad: string): string {
    const key = this.keys.get(sealed.kid);
    if (!key) throw new Error(`no master key with id ${sealed.kid} is configured`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]).toString('utf8');
  }
}
