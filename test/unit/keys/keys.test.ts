import { createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { ED25519_SPKI_PREFIX, generateDkimKeyPair } from '../../../src/keys/dkim-keys';
import { KeyCipher } from '../../../src/keys/key-cipher';

describe('KeyCipher', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('round-trips with a random IV per seal', () => {
    const c = new KeyCipher([k1]);
    const a = c.seal('secret pem', 'sel-1');
    const b = c.seal('secret pem', 'sel-1');
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toContain('secret');
    expect(c.open(a, 'sel-1')).toBe('secret pem');
  });

  it('refuses a ciphertext moved to another owner or tampered with', () => {
    const c = new KeyCipher([k1]);
    const s = c.seal('secret pem', 'sel-1');
    expect(() => c.open(s, 'sel-2')).toThrow();
    const ct = Buffer.from(s.ct, 'base64');
    ct[0] ^= 1;
    expect(() => c.open({ ...s, ct: ct.toString('base64') }, 'sel-1')).toThrow();
  });

  it('opens secrets sealed under an older master key after rotation', () => {
    const sealed = new KeyCipher([k1]).seal('old', 'x');
    const rotated = new KeyCipher([k2, k1]);
    expect(rotated.open(sealed, 'x')).toBe('old');
    expect(rotated.seal('new', 'x').kid).not.toBe(sealed.kid);
    expect(() => new KeyCipher([k2]).open(sealed, 'x')).toThrow(/no master key/);
  });
});

describe('generateDkimKeyPair', () => {
  it('issues an ed25519 key whose raw p= verifies its signatures (RFC 8463)', async () => {
    const kp = await generateDkimKeyPair('ed25519');
    const raw = Buffer.from(kp.publicKey, 'base64');
    expect(kp.keyType).toBe('ed25519');
    expect(raw).toHaveLength(32);
    const pub = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    const sig = sign(null, Buffer.from('hello'), createPrivateKey(kp.privateKeyPem));
    expect(verify(null, Buffer.from('hello'), pub, sig)).toBe(true);
  });

  it('issues an RSA key whose SPKI p= verifies its signatures', async () => {
    const kp = await generateDkimKeyPair('rsa-1024');
    const pub = createPublicKey({ key: Buffer.from(kp.publicKey, 'base64'), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(1024);
    const sig = sign('sha256', Buffer.from('hello'), createPrivateKey(kp.privateKeyPem));
    expect(verify('sha256', Buffer.from('hello'), pub, sig)).toBe(true);
    expect(verify('sha256', Buffer.from('hellO'), pub, sig)).toBe(false);
  });
});
