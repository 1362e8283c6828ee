import { eventually, until } from '../../support/eventually';

describe('eventually', () => {
  it('retries until fn returns without throwing, and returns its value', async () => {
    let calls = 0;
    const value = await eventually(() => {
      calls++;
      if (calls < 3) throw new Error('not yet');
      return 'done';
    }, { intervalMs: 1 });
    expect(value).toBe('done');
    expect(calls).toBe(3);
  });

  it('with `until`, also retries until the value satisfies it', async () => {
    let n = 0;
    expect(await eventually(async () => ++n, { intervalMs: 1, until: (x) => x >= 4 })).toBe(4);
  });

  it('on timeout throws the last error, led by the message', async () => {
    let n = 0;
    const err = await eventually(() => {
      throw new Error(`attempt ${++n}`);
    }, { timeoutMs: 30, intervalMs: 5, message: 'the thing' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(`timed out after 30 ms waiting for the thing: attempt ${n}`);
    expect(n).toBeGreaterThan(1);
  });

  it('on timeout with `until`, shows the last value', async () => {
    await expect(eventually(() => ({ status: 'pending' }), { timeoutMs: 10, intervalMs: 1, until: (x) => x.status === 'done' })).rejects.toThrow(
      "timed out after 10 ms: the condition did not hold; last value: { status: 'pending' }",
    );
  });

  it('keeps an assertion error, so its diff is what a timeout reports', async () => {
    const err = (await eventually(() => expect(1).toBe(2), { timeoutMs: 10, intervalMs: 1 }).catch((e: Error) => e)) as Error;
    expect(err.message.startsWith('timed out after 10 ms: ')).toBe(true);
    expect(err.message).toContain('Expected: ');
  });
});

describe('until', () => {
  it('returns the first truthy value', async () => {
    const hits: string[] = [];
    setTimeout(() => hits.push('hit'), 20);
    expect(await until(() => hits[0], { intervalMs: 1 })).toBe('hit');
  });

  it('times out on a predicate that stays false', async () => {
    await expect(until(() => false, { timeoutMs: 10, message: 'never' })).rejects.toThrow('timed out after 10 ms waiting for never: the condition did not hold; last value: false');
  });
});
