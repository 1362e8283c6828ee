import { evaluateSpfPolicy, spfIncludesDomain } from '../../../src/verification/spf-policy';
import { FakeResolver, type Zone } from './fake-resolver';

const INCLUDE = '_spf.mw.example';
const ours: Zone = { '_spf.mw.example': { txt: ['v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:aa::/48 -all'] } };

function zoneWith(record: string | string[], more: Zone = {}): Zone {
  return { 'example.com': { txt: Array.isArray(record) ? record : [record] }, ...ours, ...more };
}

describe('spfIncludesDomain', () => {
  it.each<[string, Zone]>([
    ['directly', zoneWith('v=spf1 mx include:_spf.mw.example ~all')],
    ['case-insensitively with a trailing dot', zoneWith('v=spf1 include:_SPF.MW.example. -all')],
    ['through an include', zoneWith('v=spf1 include:_spf.example.com -all', { '_spf.example.com': { txt: ['v=spf1 ip4:192.0.2.0/24 include:_spf.mw.example ~all'] } })],
    ['through a redirect', zoneWith('v=spf1 a redirect=_spf.example.com', { '_spf.example.com': { txt: ['v=spf1 include:_spf.mw.example -all'] } })],
    ['by a redirect to our domain', zoneWith('v=spf1 redirect=_spf.mw.example')],
    ['past an include with a macro target, which is skipped', zoneWith('v=spf1 include:%{i}.list.example include:_spf.mw.example -all')],
  ])('passes when reached %s', async (_, zone) => {
    const result = await spfIncludesDomain(new FakeResolver(zone), 'example.com', INCLUDE);
    expect([result.verdict, result.reason]).toEqual(['pass', null]);
    expect(result.found).toEqual(zone['example.com'].txt);
  });

  it.each<[string, Zone, 'fail' | 'temperror', string]>([
    ['no SPF record', { 'example.com': { txt: ['hello'] } }, 'fail', 'no SPF record: no SPF record at example.com'],
    ['no such domain', {}, 'fail', 'no SPF record: no SPF record at example.com'],
    ['two SPF records', zoneWith(['v=spf1 include:_spf.mw.example -all', 'v=spf1 mx -all']), 'fail', 'permerror: example.com publishes 2 SPF records; publish exactly one'],
    ['a syntax error', zoneWith('v=spf1 include:_spf.mw.example ip4:1.2.3 -all'), 'fail', 'permerror: syntax error in the SPF record of example.com: "1.2.3" is not a valid IPv4 address in "ip4:1.2.3"'],
    ['a record without our include', zoneWith('v=spf1 mx include:other.example -all', { 'other.example': { txt: ['v=spf1 -all'] } }), 'fail', 'the SPF record of example.com does not reach include:_spf.mw.example, directly or through include/redirect'],
    ['our include after "all"', zoneWith('v=spf1 mx -all include:_spf.mw.example'), 'fail', '"include:_spf.mw.example" comes after "-all" in the SPF record of example.com, so receivers never evaluate it'],
    ['only a macro include', zoneWith('v=spf1 include:%{d2}.mw.example -all'), 'fail', 'the SPF record of example.com does not reach include:_spf.mw.example, directly or through include/redirect; includes with macros could not be followed: "include:%{d2}.mw.example" at example.com'],
    ['the TXT lookup failing', { 'example.com': { errors: { txt: 'timeout' } } }, 'temperror', 'DNS TXT lookup of example.com failed: timeout'],
    ['a nested lookup failing on the way', zoneWith('v=spf1 include:slow.example include:_spf.mw.example -all', { 'slow.example': { errors: { txt: 'servfail' } } }), 'temperror', '"include:slow.example" at example.com: DNS TXT lookup of slow.example failed: servfail'],
    ['an include of a domain without SPF on the way', zoneWith('v=spf1 include:gone.example include:_spf.mw.example -all'), 'fail', 'permerror: "include:gone.example" at example.com: no SPF record at gone.example'],
    ['a loop on the way', zoneWith('v=spf1 include:loop.example include:_spf.mw.example -all', { 'loop.example': { txt: ['v=spf1 include:example.com'] } }), 'fail', 'permerror: include/redirect loop: example.com → loop.example → example.com'],
    [
      'more than 10 terms before our hosts can match',
      zoneWith('v=spf1 a mx a:x.example a:y.example a:z.example mx:m.example ptr exists:e.example a:w.example include:_spf.mw.example include:other.example -all', {
        '_spf.mw.example': { txt: ['v=spf1 include:deeper.mw.example -all'] },
        'deeper.mw.example': { txt: ['v=spf1 ip4:203.0.113.0/24 -all'] },
      }),
      'fail',
      'permerror: more than 10 DNS-querying terms; the limit is passed at "include:deeper.mw.example" in the SPF record of _spf.mw.example',
    ],
  ])('%s', async (_, zone, verdict, reason) => {
    const result = await spfIncludesDomain(new FakeResolver(zone), 'example.com', INCLUDE);
    expect([result.verdict, result.reason]).toEqual([verdict, reason]);
  });

  it('allows exactly 10 terms including ours', async () => {
    const zone = zoneWith('v=spf1 a mx a:x.example a:y.example a:z.example mx:m.example ptr exists:e.example a:w.example include:_spf.mw.example -all');
    expect((await spfIncludesDomain(new FakeResolver(zone), 'example.com', INCLUDE)).verdict).toBe('pass');
  });
});

describe('evaluateSpfPolicy with outbound ips', () => {
  const request = (outboundIps: string[]) => ({ domain: 'example.com', outboundIps, includeDomain: INCLUDE, helo: 'relay.mw.example' });

  it('passes when every ip passes', async () => {
    const zone = zoneWith('v=spf1 mx include:_spf.mw.example -all');
    const result = await evaluateSpfPolicy(new FakeResolver(zone), request(['203.0.113.5', '2001:db8:aa::25']));
    expect([result.verdict, result.reason, result.found]).toEqual(['pass', null, ['v=spf1 mx include:_spf.mw.example -all']]);
    expect(result.perIp?.map((r) => [r.ip, r.outcome.result])).toEqual([['203.0.113.5', 'pass'], ['2001:db8:aa::25', 'pass']]);
  });

  it('evaluates with sender postmaster@domain', async () => {
    const zone = zoneWith('v=spf1 exists:%{l}.%{o}.senders.example -all', { 'postmaster.example.com.senders.example': { a: ['127.0.0.1'] } });
    expect((await evaluateSpfPolicy(new FakeResolver(zone), request(['198.51.100.1']))).verdict).toBe('pass');
  });

  it('fails when one ip does not pass, naming it', async () => {
    const zone = zoneWith('v=spf1 ip4:203.0.113.5 ~all');
    const result = await evaluateSpfPolicy(new FakeResolver(zone), request(['203.0.113.5', '203.0.113.6']));
    expect([result.verdict, result.reason]).toEqual([
      'fail',
      'SPF of example.com does not pass every outbound IP: 203.0.113.6: softfail (203.0.113.6 matched "~all" in the SPF record of example.com)',
    ]);
  });

  it.each<[string, Zone, string]>([
    ['none', {}, 'fail'],
    ['permerror', zoneWith(['v=spf1 include:_spf.mw.example -all', 'v=spf1 -all']), 'fail'],
    ['neutral', zoneWith('v=spf1 ?all'), 'fail'],
    ['temperror', zoneWith('v=spf1 a -all', { 'example.com': { txt: ['v=spf1 a include:_spf.mw.example -all'], errors: { a: 'timeout' } } }), 'temperror'],
  ])('maps %s to %s', async (_, zone, verdict) => {
    expect((await evaluateSpfPolicy(new FakeResolver(zone), request(['203.0.113.5']))).verdict).toBe(verdict);
  });

  it('prefers a definitive fail over a temperror', async () => {
    const zone = zoneWith('v=spf1 ip4:203.0.113.5 a:flaky.example -all', { 'flaky.example': { errors: { a: 'timeout' }, aaaa: ['2001:db8::1'] } });
    const result = await evaluateSpfPolicy(new FakeResolver(zone), request(['203.0.113.6', '2001:db8::2']));
    expect(result.perIp?.map((r) => r.outcome.result)).toEqual(['temperror', 'fail']);
    expect(result.verdict).toBe('fail');
  });

  it('checks for the include when no outbound ips are configured', async () => {
    const zone = zoneWith('v=spf1 ip4:203.0.113.5 -all');
    const result = await evaluateSpfPolicy(new FakeResolver(zone), request([]));
    expect([result.verdict, result.perIp]).toEqual(['fail', undefined]);
  });
});
