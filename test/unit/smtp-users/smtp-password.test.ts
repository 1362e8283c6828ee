import crypto from 'node:crypto';
import { hashPassword, MAX_CONCURRENT_SCRYPT, verifyPassword, verifyPasswordOrDummy } from '../../../src/smtp-users/smtp-password';

describe('SMTP password checks', () => {
  it(`run at most ${MAX_CONCURRENT_SCRYPT} scrypt computations at once, however many checks are waiting`, async () => {
    const stored = await hashPassword('right');
    const real = crypto.scrypt;
    let inFlight = 0;
    let peak = 0;
    const spy = jest.spyOn(crypto, 'scrypt').mockImplementation(((...args: unknown[]) => {
      const callback = args.pop() as (err: Error | null, key: Buffer) => void;
      inFlight++;
      peak = Math.max(peak, inFlight);
      (real as (...a: unknown[]) => void)(...args, (err: Error | null, key: Buffer) => {
        inFlight--;
        callback(err, key);
      });
    }) as never);
    try {
      const candidates = ['right', 'wrong', 'right', 'x', 'right', 'y', 'z', 'right'];
      const results = await Promise.all([
        ...candidates.map((c) => verifyPassword(stored, c)),
        verifyPasswordOrDummy(null, 'right'),
        verifyPasswordOrDummy(null, ''),
      ]);
      expect(results).toEqual([...candidates.map((c) => c === 'right'), false, false]);
      expect(spy).toHaveBeenCalledTimes(10);
      expect(peak).toBe(MAX_CONCURRENT_SCRYPT);
    } finally {
      spy.mockRestore();
    }
  });

  it('check an unknown user against a dummy hash at the cost of a real one', async () => {
    const stored = await hashPassword('right');
    const spy = jest.spyOn(crypto, 'scrypt');
    try {
      expect(await verifyPasswordOrDummy(stored, 'right')).toBe(true);
      expect(await verifyPasswordOrDummy(null, 'right')).toBe(false);
      const [known, unknown] = spy.mock.calls.map((c) => ({ keyLength: c[2], ...(c[3] as object) }));
      expect(unknown).toEqual(known);
      expect(known).toMatchObject({ N: stored.N, r: stored.r, p: stored.p, keyLength: stored.keyLength });
    } finally {
      spy.mockRestore();
    }
  });

  it('still fails a check whose scrypt fails, and frees its slot', async () => {
    const stored = await hashPassword('right');
    // Parameters over the memory cap make scrypt itself fail, once per slot.
    const failing = Array.from({ length: MAX_CONCURRENT_SCRYPT }, () => verifyPassword({ ...stored, N: 2 ** 20 }, 'right'));
    for (const f of failing) await expect(f).rejects.toThrow();
    // Every slot is free again (a leaked one would leave these waiting for ever).
    const all = await Promise.all(Array.from({ length: MAX_CONCURRENT_SCRYPT + 1 }, () => verifyPassword(stored, 'right')));
    expect(all.every(Boolean)).toBe(true);
  });
});
