import { checkHost } from '../../../src/verification/spf-eval';
import { FakeResolver, type Zone } from './fake-resolver';
import { check } from './spf-fixtures';

describe('record selection', () => {
  it.each<[string, Zone, string, string]>([
    ['no such domain', {}, 'none', 'example.com does not exist'],
    ['no TXT records', { 'example.com': { a: ['192.0.2.1'] } }, 'none', 'no SPF record at example.com'],
    ['only non-SPF TXT', { 'example.com': { txt: ['google-site-verification=abc', 'v=spf10 +all', 'v=spf1x'] } }, 'none', 'no SPF record at example.com'],
    ['two SPF records', { 'example.com': { txt: ['v=spf1 -all', 'v=spf1 +all'] } }, 'permerror', 'example.com publishes 2 SPF records; it must publish exactly one'],
    ['a TXT lookup failure', { 'example.com': { errors: { txt: 'servfail' } } }, 'temperror', 'DNS TXT lookup of example.com failed: servfail'],
  ])('%s', async (_, zone, result, reason) => {
    const outcome = await check(zone, '192.0.2.1');
    expect([outcome.result, outcome.reason]).toEqual([result, reason]);
  });

  it('finds the SPF record among other TXT records, case-insensitively, across strings', async () => {
    const zone: Zone = { 'example.com': { txt: ['other', ['V=SPF1 ip4:192.0.2.0/24', ' -all']] } };
    const outcome = await check(zone, '192.0.2.9');
    expect([outcome.result, outcome.matched, outcome.records]).toEqual(['pass', 'ip4:192.0.2.0/24', ['V=SPF1 ip4:192.0.2.0/24 -all']]);
  });

  it('returns none for a domain that is not multi-label, without a lookup', async () => {
    const resolver = new FakeResolver({});
    const outcome = await checkHost(resolver, { ip: '192.0.2.1', domain: 'localhost' });
    expect([outcome.result, resolver.queries]).toEqual(['none', []]);
  });

  it('refuses an ip that is not an address', async () => {
    await expect(checkHost(new FakeResolver({}), { ip: '300.1.1.1', domain: 'example.com' })).rejects.toThrow(TypeError);
  });
});

describe('qualifiers and default result', () => {
  it.each([
    ['v=spf1 ip4:192.0.2.1 -all', 'pass'],
    ['v=spf1 -ip4:192.0.2.1 +all', 'fail'],
    ['v=spf1 ~ip4:192.0.2.1', 'softfail'],
    ['v=spf1 ?ip4:192.0.2.1 -all', 'neutral'],
    ['v=spf1 ip4:192.0.2.2', 'neutral'],
    ['v=spf1', 'neutral'],
    ['v=spf1 ip4:192.0.2.2 ~all', 'softfail'],
    ['v=spf1 unknown-mod=%{d} ip4:192.0.2.1', 'pass'],
  ])('%s → %s', async (record, expected) => {
    expect((await check({ 'example.com': { txt: [record] } }, '192.0.2.1')).result).toBe(expected);
  });
});

describe('ip4 and ip6', () => {
  it.each([
    ['v=spf1 ip6:2001:db8::/32 -all', '2001:db8:ffff::1', 'pass'],
    ['v=spf1 ip6:2001:db8::/32 -all', '2001:db9::1', 'fail'],
    ['v=spf1 ip6:2001:db8:0:1::/64 -all', '2001:db8:0:1:ffff:ffff:ffff:ffff', 'pass'],
    ['v=spf1 ip6:2001:db8:0:1::/64 -all', '2001:db8:0:2::1', 'fail'],
    ['v=spf1 ip6:2001:db8::cb01/128 -all', '2001:db8::cb01', 'pass'],
    ['v=spf1 ip6:2001:db8::cb01 -all', '2001:db8::cb02', 'fail'],
    ['v=spf1 ip6:::/0 -all', '2001:db8::1', 'pass'],
    ['v=spf1 ip6:::/0 -all', '192.0.2.1', 'fail'],
    ['v=spf1 ip4:0.0.0.0/0 -all', '2001:db8::1', 'fail'],
    ['v=spf1 ip4:192.0.2.0/25 -all', '192.0.2.127', 'pass'],
    ['v=spf1 ip4:192.0.2.0/25 -all', '192.0.2.128', 'fail'],
    ['v=spf1 ip4:192.0.2.1 -all', '::ffff:192.0.2.1', 'pass'],
  ])('%s for %s → %s', async (record, ip, expected) => {
    expect((await check({ 'example.com': { txt: [record] } }, ip)).result).toBe(expected);
  });

  it.each([
    ['v=spf1 a//64 -all', '2001:db8:1:2::ffff', 'pass'],
    ['v=spf1 a//64 -all', '2001:db8:1:3::1', 'fail'],
    ['v=spf1 a -all', '2001:db8:1:2::ffff', 'fail'],
    ['v=spf1 a -all', '2001:db8:1:2::1', 'pass'],
    ['v=spf1 a/24//64 -all', '192.0.2.200', 'pass'],
    ['v=spf1 a//64 -all', '192.0.2.200', 'fail'],
    ['v=spf1 mx/24//48 -all', '2001:db8:1:ffff::1', 'pass'],
    ['v=spf1 mx/24//48 -all', '192.0.3.1', 'fail'],
  ])('dual-cidr %s for %s → %s', async (record, ip, expected) => {
    const zone: Zone = {
      'example.com': { txt: [record], a: ['192.0.2.10'], aaaa: ['2001:db8:1:2::1'], mx: ['mx.example.com'] },
      'mx.example.com': { a: ['192.0.2.20'], aaaa: ['2001:db8:1:2::2'] },
    };
    expect((await check(zone, ip)).result).toBe(expected);
  });
});

describe('exists and macros in targets', () => {
  const zone: Zone = {
    'example.com': { txt: ['v=spf1 exists:%{i}.allow.example.com exists:%{ir}.%{v}.rev.%{d2} exists:%{l}.users.%{o} -all'] },
    '192.0.2.7.allow.example.com': { a: ['127.0.0.2'] },
    '8.2.0.192.in-addr.rev.example.com': { a: ['127.0.0.2'] },
    'postmaster.users.example.com': { a: ['127.0.0.2'] },
  };

  it.each<[string, string, string, string]>([
    ['%{i}', '192.0.2.7', 'user@example.com', 'pass'],
    ['%{ir}.%{v} and %{d2}', '192.0.2.8', 'user@example.com', 'pass'],
    ['%{l} with postmaster for a sender without local part', '192.0.2.9', 'example.com', 'pass'],
    ['%{l} with postmaster for "@domain"', '192.0.2.9', '@example.com', 'pass'],
    // Three void exists lookups pass the limit of two before "-all" is reached.
    ['nothing listed', '192.0.2.9', 'user@example.com', 'permerror'],
  ])('%s', async (_, ip, sender, expected) => {
    expect((await check(zone, ip, 'example.com', sender)).result).toBe(expected);
  });

  it('queries A for exists even for an IPv6 client', async () => {
    const resolver = new FakeResolver({
      'example.com': { txt: ['v=spf1 exists:%{ir}.v6.example.com -all'] },
      '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.example.com': { a: ['127.0.0.2'] },
    });
    const outcome = await checkHost(resolver, { ip: '2001:db8::cb01', domain: 'example.com' });
    expect([outcome.result, resolver.queries[1]]).toEqual(['pass', 'A 1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.example.com']);
  });

  it('uses the HELO name for the sender of a null reverse-path', async () => {
    const outcome = await checkHost(
      new FakeResolver({ 'example.com': { txt: ['v=spf1 exists:%{l}.%{o}.h.example.com -all'] }, 'postmaster.mx.example.net.h.example.com': { a: ['127.0.0.1'] } }),
      { ip: '192.0.2.1', domain: 'example.com', sender: '', helo: 'mx.example.net' },
    );
    expect(outcome.result).toBe('pass');
  });

  it('resolves %{p} to the validated name inside the domain', async () => {
    const zone: Zone = {
      'example.com': { txt: ['v=spf1 exists:%{p}.ok.example.com -all'] },
      '1.2.0.192.in-addr.arpa': { ptr: ['other.example.net', 'host.example.com', 'fake.example.com'] },
      'other.example.net': { a: ['192.0.2.1'] },
      'host.example.com': { a: ['192.0.2.1'] },
      'fake.example.com': { a: ['192.0.2.99'] },
      'host.example.com.ok.example.com': { a: ['127.0.0.2'] },
    };
    expect((await check(zone, '192.0.2.1')).result).toBe('pass');
  });
});

describe('include and redirect', () => {
  const zone: Zone = {
    'example.com': { txt: ['v=spf1 include:_spf.example.com -all'] },
    '_spf.example.com': { txt: ['v=spf1 include:_blocks.example.net ~all'] },
    '_blocks.example.net': { txt: ['v=spf1 ip4:203.0.113.0/24 -all'] },
    'redirected.example': { txt: ['v=spf1 redirect=_spf.example.com'] },
    'redirect-all.example': { txt: ['v=spf1 ?all redirect=_spf.example.com'] },
    'redirect-none.example': { txt: ['v=spf1 redirect=nothing.example'] },
  };

  it('passes through a nested include and names the top-level term', async () => {
    const outcome = await check(zone, '203.0.113.5');
    expect([outcome.result, outcome.matched, outcome.lookups]).toEqual(['pass', 'include:_spf.example.com', 2]);
    expect(outcome.reason).toBe(
      '"include:_spf.example.com" at example.com matched: "include:_blocks.example.net" at _spf.example.com matched: 203.0.113.5 matched "ip4:203.0.113.0/24" in the SPF record of _blocks.example.net',
    );
  });

  it('treats an include that fails or softfails as no match', async () => {
    const outcome = await check(zone, '198.51.100.1');
    expect([outcome.result, outcome.matched]).toEqual(['fail', '-all']);
  });

  it('follows redirect and takes its result and matched term', async () => {
    const outcome = await check(zone, '198.51.100.1', 'redirected.example');
    expect([outcome.result, outcome.matched, outcome.lookups]).toEqual(['softfail', '~all', 2]);
    const pass = await check(zone, '203.0.113.9', 'redirected.example');
    expect(pass.result).toBe('pass');
  });

  it('ignores redirect when the record has "all"', async () => {
    const outcome = await check(zone, '203.0.113.9', 'redirect-all.example');
    expect([outcome.result, outcome.lookups]).toEqual(['neutral', 0]);
  });

  it.each<[string, Zone, string, string]>([
    ['include of a domain without SPF', { 'example.com': { txt: ['v=spf1 include:nospf.example -all'] }, 'nospf.example': { a: ['192.0.2.1'] } }, 'permerror', '"include:nospf.example" at example.com: no SPF record at nospf.example'],
    ['include of a broken record', { 'example.com': { txt: ['v=spf1 include:bad.example -all'] }, 'bad.example': { txt: ['v=spf1 foo'] } }, 'permerror', '"include:bad.example" at example.com: syntax error in the SPF record of bad.example: unknown mechanism "foo"'],
    ['include that cannot be looked up', { 'example.com': { txt: ['v=spf1 include:slow.example -all'] }, 'slow.example': { errors: { txt: 'timeout' } } }, 'temperror', '"include:slow.example" at example.com: DNS TXT lookup of slow.example failed: timeout'],
    ['redirect to a domain without SPF', { 'example.com': { txt: ['v=spf1 redirect=nothing.example'] } }, 'permerror', '"redirect=nothing.example" at example.com: nothing.example does not exist'],
  ])('%s', async (_, z, result, reason) => {
    const outcome = await check(z, '192.0.2.1');
    expect([outcome.result, outcome.reason]).toEqual([result, reason]);
  });

  it('stops an include loop with a permerror naming the loop', async () => {
    const loop: Zone = { 'a.example': { txt: ['v=spf1 include:b.example -all'] }, 'b.example': { txt: ['v=spf1 include:A.example. -all'] } };
    const outcome = await check(loop, '192.0.2.1', 'a.example');
    expect([outcome.result, outcome.reason]).toEqual([
      'permerror',
      '"include:b.example" at a.example: include/redirect loop: a.example → b.example → a.example',
    ]);
  });

  it('stops a redirect to itself', async () => {
    const outcome = await check({ 'self.example': { txt: ['v=spf1 redirect=self.example'] } }, '192.0.2.1', 'self.example');
    expect([outcome.result, outcome.reason]).toEqual(['permerror', 'include/redirect loop: self.example → self.example']);
  });

  it('stops a loop that no name comparison catches through the lookup limit', async () => {
    const zone2: Zone = { 'example.com': { txt: ['v=spf1 include:x.%{d} -all'] } };
    let name = 'example.com';
    for (let i = 0; i < 12; i++) {
      name = `x.${name}`;
      zone2[name] = { txt: ['v=spf1 include:x.%{d} -all'] };
    }
    const outcome = await check(zone2, '192.0.2.1');
    expect([outcome.result, outcome.lookups]).toEqual(['permerror', 11]);
  });
});

describe('exp=', () => {
  const zone: Zone = {
    'example.com': { txt: ['v=spf1 ip4:192.0.2.1 -all exp=why.example.com'] },
    'why.example.com': { txt: [['%{i} is not one of %{d}', "'s senders (%{c})"]] },
    'broken.example': { txt: ['v=spf1 -all exp=nowhere.example'] },
    'bad-macro.example': { txt: ['v=spf1 -all exp=why2.example'] },
    'why2.example': { txt: ['%{x} nope'] },
  };

  it('adds the expanded explanation to a fail', async () => {
    const outcome = await check(zone, '198.51.100.1');
    expect([outcome.result, outcome.explanation]).toEqual(['fail', "198.51.100.1 is not one of example.com's senders (198.51.100.1)"]);
  });

  it('does not fetch it for a pass', async () => {
    const resolver = new FakeResolver(zone);
    const outcome = await checkHost(resolver, { ip: '192.0.2.1', domain: 'example.com' });
    expect([outcome.result, outcome.explanation, resolver.queries]).toEqual(['pass', undefined, ['TXT example.com']]);
  });

  it.each(['broken.example', 'bad-macro.example'])('leaves the fail unchanged when the explanation is unusable (%s)', async (domain) => {
    const outcome = await check(zone, '198.51.100.1', domain);
    expect([outcome.result, outcome.explanation, outcome.matched]).toEqual(['fail', undefined, '-all']);
  });
});
