import { normalizeCidr } from '../../../src/allowed-ips/cidr';

describe('normalizeCidr', () => {
  it.each([
    ['192.0.2.0/24', '192.0.2.0/24'],
    ['192.0.2.77/24', '192.0.2.0/24'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['  198.51.100.1/32 ', '198.51.100.1/32'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['192.0.2.255/31', '192.0.2.254/31'],
    ['2001:DB8::1', '2001:db8::1/128'],
    ['2001:db8:0:0:0:0:0:1/128', '2001:db8::1/128'],
    ['2001:0db8:abcd:0012:ffff::1/48', '2001:db8:abcd::/48'],
    ['2001:db8::ff/121', '2001:db8::80/121'],
    ['2001:db8:ffff::/32', '2001:db8::/32'],
    ['::1', '::1/128'],
    ['fe80::1/64', 'fe80::/64'],
    ['::ffff:1.2.3.4', '1.2.3.4/32'],
    ['::ffff:1.2.3.4/120', '1.2.3.0/24'],
    ['::FFFF:0102:0304/128', '1.2.3.4/32'],
    ['::ffff:10.9.8.7/104', '10.0.0.0/8'],
    // Shorter than /96 the network is no longer IPv4-mapped.
    ['::ffff:1.2.3.4/80', '::/80'],
  ])('accepts %p as %p', (input, expected) => {
    expect(normalizeCidr(input)).toEqual({ ok: true, cidr: expected });
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['example.com', /IPv4 or IPv6/],
    ['256.0.0.1', /IPv4 or IPv6/],
    ['1.2.3', /IPv4 or IPv6/],
    ['127.1', /IPv4 or IPv6/],
    ['0x7f.0.0.1', /IPv4 or IPv6/],
    ['010.0.0.1', /IPv4 or IPv6/],
    ['1.2.3.4/33', /0 to 32/],
    ['1.2.3.4/-1', /0 to 32/],
    ['1.2.3.4/', /0 to 32/],
    ['1.2.3.4/08', /0 to 32/],
    ['1.2.3.4/8/8', /0 to 32/],
    ['1.2.3.4/ 8', /0 to 32/],
    ['1.2.3.4/255.255.255.0', /0 to 32/],
    ['2001:db8::/129', /0 to 128/],
    ['2001:db8:::1', /IPv4 or IPv6/],
    ['2001:db8::1::2', /IPv4 or IPv6/],
    ['12345::1', /IPv4 or IPv6/],
    ['gggg::1', /IPv4 or IPv6/],
    ['fe80::1%eth0', /zone/],
    ['::ffff:1.2.3.04', /four decimal parts/],
    ['::1.2.3.4', /deprecated/],
    ['[2001:db8::1]', /IPv4 or IPv6/],
  ])('rejects %p', (input, reason) => {
    const r = normalizeCidr(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('normalizeCidr: the allowlist scope (at most a /8 for IPv4, a /32 for IPv6)', () => {
  it.each([
    ['0.0.0.0/0', /\/8 or longer for IPv4/],
    ['203.0.113.9/0', /\/8 or longer for IPv4/],
    ['128.0.0.0/1', /\/8 or longer for IPv4/],
    ['10.0.0.0/7', /\/8 or longer for IPv4/],
    ['::/0', /\/32 or longer for IPv6/],
    ['2000::/3', /\/32 or longer for IPv6/],
    ['2001:db8::/31', /\/32 or longer for IPv6/],
    ['fe80::1/10', /\/32 or longer for IPv6/],
    // An IPv4-mapped network is judged as the IPv4 network it is.
    ['::ffff:0:0/96', /\/8 or longer for IPv4/],
    ['::ffff:10.0.0.0/103', /\/8 or longer for IPv4/],
  ])('refuses %p', (input, reason) => {
    const r = normalizeCidr(input);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });

  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['0.0.0.0', '0.0.0.0/32'],
    ['::', '::/128'],
  ])('accepts %p', (input, expected) => {
    expect(normalizeCidr(input)).toEqual({ ok: true, cidr: expected });
  });
});
