import { formatIp, inCidr, parseIp, reverseName } from '../../../src/verification/ip-address';
import { checkHost } from '../../../src/verification/spf-eval';
import { isSpfRecord, parseSpfRecord, selectSpfRecords } from '../../../src/verification/spf-record';
import { assembleTxt } from '../../../src/verification/txt';
import { FakeResolver } from './fake-resolver';

describe('assembleTxt', () => {
  it.each([
    [['v=spf1 ', 'ip4:192.0.2.1 -all'], 'v=spf1 ip4:192.0.2.1 -all'],
    [['v=spf1', ' -all'], 'v=spf1 -all'],
    [['p=MIGf', 'MA0G'], 'p=MIGfMA0G'],
    [[''], ''],
    [[], ''],
  ])('joins %j with nothing between', (strings, expected) => {
    expect(assembleTxt(strings)).toBe(expected);
  });
});

describe('SPF record selection', () => {
  it.each([
    ['v=spf1', true],
    ['v=spf1 -all', true],
    ['V=SPF1 -all', true],
    ['v=spf10 -all', false],
    ['v=spf1-all', false],
    [' v=spf1 -all', false],
    ['spf2.0/pra -all', false],
  ])('%j is SPF: %s', (value, expected) => {
    expect(isSpfRecord(value)).toBe(expected);
  });

  it('assembles each record before selecting', () => {
    expect(selectSpfRecords([['v=spf1 ', 'a'], ['v=DMARC1'], ['v=sp', 'f1 mx']])).toEqual(['v=spf1 a', 'v=spf1 mx']);
  });
});

describe('SPF syntax errors are permerror', () => {
  it.each([
    ['v=spf1 ip4:300.1.1.1', '"300.1.1.1" is not a valid IPv4 address in "ip4:300.1.1.1"'],
    ['v=spf1 ip4:192.0.2.01', '"192.0.2.01" is not a valid IPv4 address in "ip4:192.0.2.01"'],
    ['v=spf1 ip4:192.0.2.0/33', 'CIDR length 33 is over 32 in "ip4:192.0.2.0/33"'],
    ['v=spf1 ip4:192.0.2.0/024', 'malformed CIDR length in "ip4:192.0.2.0/024"'],
    ['v=spf1 ip6:2001:db8::/129', 'CIDR length 129 is over 128 in "ip6:2001:db8::/129"'],
    ['v=spf1 ip6:192.0.2.1', '"192.0.2.1" is not a valid IPv6 address in "ip6:192.0.2.1"'],
    ['v=spf1 ip4', '"ip4" needs an address: "ip4"'],
    ['v=spf1 foo:bar', 'unknown mechanism "foo:bar"'],
    ['v=spf1 a/33', 'IPv4 CIDR length 33 is over 32 in "a/33"'],
    ['v=spf1 a//129', 'IPv6 CIDR length 129 is over 128 in "a//129"'],
    ['v=spf1 mx/24/', 'malformed CIDR length in "mx/24/"'],
    ['v=spf1 a:', '"a:" needs a domain: "a:"'],
    ['v=spf1 a:localhost', '"localhost" is not a valid domain in "a:localhost"'],
    ['v=spf1 a:example.123', '"example.123" is not a valid domain in "a:example.123"'],
    ['v=spf1 include', '"include" needs a domain: "include"'],
    ['v=spf1 exists:', '"exists" needs a domain: "exists:"'],
    ['v=spf1 -all:foo', '"all" takes no argument: "-all:foo"'],
    ['v=spf1 redirect=a.example redirect=b.example', '"redirect=" appears more than once'],
    ['v=spf1 exp=a.example exp=b.example -all', '"exp=" appears more than once'],
    ['v=spf1 -redirect=a.example', 'unknown mechanism "-redirect=a.example"'],
    ['v=spf1 include:%{z}.example', 'invalid domain in "include:%{z}.example": unknown macro letter "z" in "%{z}.example"'],
    ['v=spf1 exists:%{d0}.example', 'invalid domain in "exists:%{d0}.example": macro "%{d0}" keeps zero labels'],
    ['v=spf1 foo=%{q}', 'invalid modifier "foo=%{q}": unknown macro letter "q" in "%{q}"'],
    ['v=spf1 +', 'unknown mechanism "+"'],
  ])('%s', async (record, reason) => {
    expect(parseSpfRecord(record)).toEqual({ ok: false, reason });
    const outcome = await checkHost(new FakeResolver({ 'example.com': { txt: [record] } }), { ip: '192.0.2.1', domain: 'example.com' });
    expect([outcome.result, outcome.reason]).toEqual(['permerror', `syntax error in the SPF record of example.com: ${reason}`]);
  });

  it('reports the syntax error even when an earlier term would match', async () => {
    const outcome = await checkHost(new FakeResolver({ 'example.com': { txt: ['v=spf1 +all foo'] } }), { ip: '192.0.2.1', domain: 'example.com' });
    expect(outcome.result).toBe('permerror');
  });
});

describe('SPF parsing of valid records', () => {
  it('parses qualifiers, CIDR lengths, macros with "/" delimiters and modifiers', () => {
    const parsed = parseSpfRecord('v=spf1  -A:%{l/}.example.com/24//64 ~mx ?ptr:example.org ip6:2001:db8::/32 exists:%{i}.x.example redirect=_spf.example.com exp=exp.%{d} x-ignored=1  ');
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.record.redirect).toBe('_spf.example.com');
    expect(parsed.record.exp).toBe('exp.%{d}');
    expect(parsed.record.directives.map((d) => [d.qualifier, d.mechanism.kind, d.text])).toEqual([
      ['-', 'a', '-A:%{l/}.example.com/24//64'],
      ['~', 'mx', '~mx'],
      ['?', 'ptr', '?ptr:example.org'],
      ['+', 'ip6', 'ip6:2001:db8::/32'],
      ['+', 'exists', 'exists:%{i}.x.example'],
    ]);
    expect(parsed.record.directives[0].mechanism).toEqual({ kind: 'a', domainSpec: '%{l/}.example.com', prefix4: 24, prefix6: 64 });
  });
});

describe('ip addresses', () => {
  it.each([
    ['2001:db8::cb01', '2001:db8::cb01'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  ])('%s formats as %s', (text, expected) => {
    const ip = parseIp(text);
    expect(ip && formatIp(ip)).toBe(expected);
  });

  it.each(['1.2.3', '01.2.3.4', 'fe80::1%eth0', '2001:db8::1::2', 'example.com', ''])('rejects %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it('builds reverse names', () => {
    expect(reverseName(parseIp('192.0.2.3')!)).toBe('3.2.0.192.in-addr.arpa');
    expect(reverseName(parseIp('2001:db8::cb01')!)).toBe('1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  });

  it('matches CIDR prefixes on bit boundaries', () => {
    expect(inCidr(parseIp('192.0.2.129')!, parseIp('192.0.2.128')!, 31)).toBe(true);
    expect(inCidr(parseIp('192.0.2.130')!, parseIp('192.0.2.128')!, 31)).toBe(false);
    expect(inCidr(parseIp('192.0.2.129')!, parseIp('192.0.2.128')!, 32)).toBe(false);
    expect(inCidr(parseIp('10.1.2.3')!, parseIp('192.0.2.128')!, 0)).toBe(true);
    expect(inCidr(parseIp('2001:db8::8000')!, parseIp('2001:db8::')!, 113)).toBe(false);
    expect(inCidr(parseIp('2001:db8::7fff')!, parseIp('2001:db8::')!, 113)).toBe(true);
  });
});
