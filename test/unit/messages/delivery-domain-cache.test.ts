import { ManualClock } from '../../../src/clock';
import { DeliveryDomainCache, type DeliveryDomain } from '../../../src/messages/delivery-domain-cache';

const ID = 'dom_1';

function domainOf(allowed: boolean): DeliveryDomain {
  return {
    decision: { domainId: ID, domain: 'example.test', allowed, reason: allowed ? '' : 'suspended', limits: { rateLimitPerSecond: 10, dailyQuota: 100 } } as DeliveryDomain['decision'],
    dkim: [],
  };
}

describe('DeliveryDomainCache', () => {
  const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
  let live: boolean;
  let current: DeliveryDomain;
  let loads: number;
  const load = async () => {
    loads += 1;
    return current;
  };
  beforeEach(() => {
    live = true;
    current = domainOf(true);
    loads = 0;
  });
  const cache = () => new DeliveryDomainCache(load, () => live, clock, 30_000);

  it('reads a domain once per TTL while the channel is live', async () => {
    const c = cache();
    for (let i = 0; i < 5; i++) expect((await c.get(ID)).decision?.allowed).toBe(true);
    expect(loads).toBe(1);
    clock.advance(30_001);
    await c.get(ID);
    expect(loads).toBe(2);
  });

  it('drops a domain on invalidation, so the next attempt sees the new decision', async () => {
    const c = cache();
    await c.get(ID);
    current = domainOf(false);
    c.invalidate(ID);
    expect((await c.get(ID)).decision?.allowed).toBe(false);
    expect(loads).toBe(2);
  });

  it('starts over after the channel was down (clear)', async () => {
    const c = cache();
    await c.get(ID);
    current = domainOf(false);
    c.clear();
    expect((await c.get(ID)).decision?.allowed).toBe(false);
  });

  it('reads the domain directly, and caches nothing, while the channel is down', async () => {
    const c = cache();
    live = false;
    await c.get(ID);
    await c.get(ID);
    expect(loads).toBe(2);
    current = domainOf(false);
    live = true;
    expect((await c.get(ID)).decision?.allowed).toBe(false);
  });

  it('does not cache a load that raced an invalidation', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new DeliveryDomainCache(
      async () => {
        loads += 1;
        const seen = current;
        await gate;
        return seen;
      },
      () => live,
      clock,
    );
    const pending = c.get(ID);
    current = domainOf(false);
    c.invalidate(ID);
    release();
    expect((await pending).decision?.allowed).toBe(true);
    expect((await c.get(ID)).decision?.allowed).toBe(false);
    expect(loads).toBe(2);
  });
});
