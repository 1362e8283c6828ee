import { ManualClock } from '../../../src/clock';
import { DnsClient } from '../../../src/dns/dns-client';
import { NameserverDiscovery } from '../../../src/dns/nameserver-discovery';
import { RecursiveResolver } from '../../../src/dns/recursive-resolver';
import { DnsFixture } from '../../support/dns-fixture';

describe('NameserverDiscovery', () => {
  let dns: DnsFixture;
  let client: DnsClient;
  let clock: ManualClock;
  let discovery: NameserverDiscovery;

  beforeAll(async () => {
    dns = await DnsFixture.start(['example.test', 'sub.other.test']);
    client = new DnsClient({ timeoutMs: 300, retries: 0 });
    clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    discovery = new NameserverDiscovery(new RecursiveResolver(client, [dns.resolver.address]), clock);
  });
  afterAll(async () => {
    client.close();
    await dns.close();
  });

  it('finds the nameservers of a zone apex with glue', async () => {
    const r = await discovery.discover('example.test');
    expect(r).toEqual({
      kind: 'found',
      zone: 'example.test',
      nameservers: [
        { host: 'ns1.example.test', ip: '127.0.0.11' },
        { host: 'ns2.example.test', ip: '127.0.0.12' },
      ],
    });
  });

  it('finds the parent zone when the domain has no zone of its own (mail.example.test)', async () => {
    dns.publish('mail.example.test', 'A', ['192.0.2.1']);
    expect(await discovery.findZone('mail.example.test')).toEqual({ zone: 'example.test' });
    // A name that does not exist still belongs to its parent's zone.
    expect(await discovery.findZone('deep.nothing.example.test')).toEqual({ zone: 'example.test' });
    const r = await discovery.discover('Mail.Example.Test.');
    expect(r.kind === 'found' && r.zone).toBe('example.test');
  });

  it('caches the NS set for its TTL', async () => {
    await discovery.discover('sub.other.test');
    const before = dns.resolver.log.filter((q) => q.type === 'NS').length;
    await discovery.discover('sub.other.test');
    expect(dns.resolver.log.filter((q) => q.type === 'NS').length).toBe(before);
    clock.advance(301_000);
    await discovery.discover('sub.other.test');
    expect(dns.resolver.log.filter((q) => q.type === 'NS').length).toBe(before + 1);
  });

  it('reports a resolver outage as an error, not as an answer', async () => {
    dns.resolver.faults = { servfail: true };
    try {
      const r = await discovery.discover('example.test');
      expect(r.kind).toBe('error');
    } finally {
      dns.resetFaults();
    }
  });
});
