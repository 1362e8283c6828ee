import { check, hosts, terms } from './spf-fixtures';
import type { Zone } from './fake-resolver';

describe('lookup limits', () => {
  it('allows exactly 10 DNS-querying terms', async () => {
    const outcome = await check({ 'example.com': { txt: [`v=spf1 ${terms(10)} -all`] }, ...hosts(10) }, '192.0.2.1');
    expect([outcome.result, outcome.lookups]).toEqual(['fail', 10]);
  });

  it('returns permerror on the 11th', async () => {
    const outcome = await check({ 'example.com': { txt: [`v=spf1 ${terms(11)} -all`] }, ...hosts(11) }, '192.0.2.1');
    expect([outcome.result, outcome.reason]).toEqual([
      'permerror',
      'more than 10 DNS-querying terms (include, a, mx, ptr, exists, redirect); the limit was passed at "a:a11.hosts.test" in the SPF record of example.com',
    ]);
  });

  it('counts terms across includes and redirect', async () => {
    const zone: Zone = {
      'example.com': { txt: [`v=spf1 ${terms(4)} include:inc.example redirect=red.example`] },
      'inc.example': { txt: [`v=spf1 ${terms(3, 'b')}`] },
      'red.example': { txt: [`v=spf1 a:c1.hosts.test -all`] },
      ...hosts(4), ...hosts(3, 'b'), ...hosts(1, 'c'),
    };
    const ok = await check(zone, '192.0.2.1');
    expect([ok.result, ok.lookups]).toEqual(['fail', 10]);
    zone['red.example'] = { txt: ['v=spf1 a:c1.hosts.test a:c1.hosts.test -all'] };
    expect((await check(zone, '192.0.2.1')).result).toBe('permerror');
  });

  it('does not count ip4, ip6, all or exp', async () => {
    const outcome = await check({ 'example.com': { txt: [`v=spf1 ip4:192.0.2.9 ip6:2001:db8::1 ${terms(10)} exp=exp.example.com -all`] }, ...hosts(10) }, '192.0.2.1');
    expect([outcome.result, outcome.lookups]).toEqual(['fail', 10]);
  });

  it('allows two void lookups and returns permerror on the third', async () => {
    const zone: Zone = { 'example.com': { txt: ['v=spf1 a:nx1.example.com mx:nodata.example.com a:nx3.example.com -all'] }, 'nodata.example.com': { txt: ['x'] } };
    zone['example.com'] = { txt: ['v=spf1 a:nx1.example.com mx:nodata.example.com -all'] };
    const two = await check(zone, '192.0.2.1');
    expect([two.result, two.voidLookups]).toEqual(['fail', 2]);
    zone['example.com'] = { txt: ['v=spf1 a:nx1.example.com mx:nodata.example.com exists:nx3.example.com -all'] };
    const three = await check(zone, '192.0.2.1');
    expect([three.result, three.voidLookups, three.reason]).toEqual([
      'permerror',
      3,
      'more than 2 void lookups (NXDOMAIN or no records); the limit was passed at "exists:nx3.example.com" in the SPF record of example.com',
    ]);
  });

  it('returns permerror for an mx with more than 10 hosts, and allows 10', async () => {
    const mx = (n: number): string[] => Array.from({ length: n }, (_, i) => `${i} a${i + 1}.hosts.test`);
    const ten = await check({ 'example.com': { txt: ['v=spf1 mx -all'], mx: mx(10) }, ...hosts(11) }, '198.51.100.10');
    expect(ten.result).toBe('pass');
    const eleven = await check({ 'example.com': { txt: ['v=spf1 mx -all'], mx: mx(11) }, ...hosts(11) }, '198.51.100.1');
    expect([eleven.result, eleven.reason]).toEqual(['permerror', '"mx" at example.com: example.com has 11 MX records; SPF allows at most 10']);
  });

  it('ignores PTR names past the first 10', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `a${i + 1}.hosts.test`);
    const zone: Zone = { 'example.com': { txt: ['v=spf1 ptr:hosts.test -all'] }, '11.100.51.198.in-addr.arpa': { ptr: names }, ...hosts(11) };
    expect((await check(zone, '198.51.100.11')).result).toBe('fail');
    expect((await check({ ...zone, '10.100.51.198.in-addr.arpa': { ptr: names } }, '198.51.100.10')).result).toBe('pass');
  });
});

describe('temporary errors', () => {
  it.each<[string, Zone]>([
    ['a', { 'example.com': { txt: ['v=spf1 a -all'], errors: { a: 'timeout' } } }],
    ['mx', { 'example.com': { txt: ['v=spf1 mx -all'], errors: { mx: 'servfail' } } }],
    ['an mx host', { 'example.com': { txt: ['v=spf1 mx -all'], mx: ['mx.example.com'] }, 'mx.example.com': { errors: { a: 'refused' } } }],
    ['exists', { 'example.com': { txt: ['v=spf1 exists:x.example.com -all'] }, 'x.example.com': { errors: { a: 'timeout' } } }],
  ])('a lookup failure in %s is a temperror', async (_, zone) => {
    expect((await check(zone, '192.0.2.1')).result).toBe('temperror');
  });

  it('a PTR lookup failure makes ptr not match (§5.5)', async () => {
    const zone: Zone = { 'example.com': { txt: ['v=spf1 ptr -all'] }, '1.2.0.192.in-addr.arpa': { errors: { ptr: 'servfail' } } };
    expect((await check(zone, '192.0.2.1')).result).toBe('fail');
  });

  it('a match before the failing term still decides', async () => {
    const zone: Zone = { 'example.com': { txt: ['v=spf1 ip4:192.0.2.1 a:broken.example -all'] }, 'broken.example': { errors: { a: 'timeout' } } };
    expect((await check(zone, '192.0.2.1')).result).toBe('pass');
  });
});

