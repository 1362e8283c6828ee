import { DestinationBackoff } from '../../../src/messages/destination-backoff';

describe('DestinationBackoff: rests per destination after session-level temporary failures', () => {
  const start = Date.parse('2026-01-01T00:00:00Z');
  let now = start;
  const clock = { now: () => new Date(now) };
  const failure = { reason: 'no MX host of x.test took a session: 421 busy', reply: { code: 421, enhanced: '4.3.2', message: 'busy' }, remoteHost: 'mx.x.test[192.0.2.1]' };
  beforeEach(() => {
    now = start;
  });

  it('rests the base, then twice as long per failure in a row, up to 64 times the base', () => {
    const b = new DestinationBackoff(60_000, clock);
    const rests: number[] = [];
    for (let i = 0; i < 9; i++) {
      b.failed('d', failure);
      const r = b.restingNow('d')!;
      rests.push((r.until.getTime() - now) / 60_000);
      now = r.until.getTime();
      expect(b.restingNow('d')).toBeUndefined();
    }
    expect(rests).toEqual([1, 2, 4, 8, 16, 32, 64, 64, 64]);
  });

  it('says what the last attempt got while it rests, and only then', () => {
    const b = new DestinationBackoff(1000, clock);
    expect(b.restingNow('d')).toBeUndefined();
    b.failed('d', failure);
    expect(b.restingNow('d')).toEqual({ ...failure, failures: 1, until: new Date(start + 1000) });
    now += 999;
    expect(b.restingNow('d')?.failures).toBe(1);
    now += 1;
    expect(b.restingNow('d')).toBeUndefined();
    expect(b.restingNow('other')).toBeUndefined();
  });

  it('ends the rest and forgets the count on a success', () => {
    const b = new DestinationBackoff(1000, clock);
    b.failed('d', failure);
    b.failed('d', failure);
    b.succeeded('d');
    expect(b.restingNow('d')).toBeUndefined();
    b.failed('d', failure);
    expect(b.restingNow('d')?.failures).toBe(1);
  });

  it('never rests with a base of 0', () => {
    const b = new DestinationBackoff(0, clock);
    b.failed('d', failure);
    expect(b.restingNow('d')).toBeUndefined();
  });
});
