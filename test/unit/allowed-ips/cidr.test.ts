import { ipInCidrs, normalizeCidr } from '../../../src/allowed-ips/cidr';

describe('normalizeCidr', () => {
  it.each([
    ['192.0.2.0/24', '192.0.2.0/24'],
    ['192.0.2.77/24', '192.0.2.0/24'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['  198.51.100.1/32 ', '198.51.100.1/32'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['203.0.113.9/0', '0.0.0.0/0'],
    ['192.0.2.255/31', '192.0.2.254/31'],
    ['2001:DB8::1', '2001:db8::1/128'],
    ['2001:db8:0:0:0:0:0:1/128', '2001:db8::1/128'],
    ['2001:0db8:abcd:0012:ffff::1/48', '2001:db8:abcd::/48'],
    ['2001:db8::ff/121', '2001:db8::80/121'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['fe80::1/10', 'fe80::/10'],
    ['::ffff:1.2.3.4', '1.2.3.4/32'],
    ['::ffff:1.2.3.4/120', '1.2.3.0/24'],
    ['::FFFF:0102:0304/128', '1.2.3.4/32'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
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

describe('ipInCidrs', () => {
  const list = ['127.0.0.0/8', '192.0.2.0/24', '2001:db8::/32', '198.51.100.7/32'];

  it.each([
    ['127.0.0.1', list, true],
    ['127.255.255.255', list, true],
    ['::ffff:127.0.0.1', list, true],
    ['::FFFF:7f00:1', list, true],
    ['192.0.2.200', list, true],
    ['192.0.3.1', list, false],
    ['198.51.100.7', list, true],
    ['198.51.100.8', list, false],
    ['2001:db8:1::5', list, true],
    ['2001:db9::1', list, false],
    // An IPv6 client never matches an IPv4 range, nor the reverse.
    ['::1', ['127.0.0.0/8'], false],
    ['127.0.0.1', ['::/0'], false],
    ['::1', ['::/0'], true],
    ['203.0.113.1', ['0.0.0.0/0'], true],
    // The default: an empty allowlist lets nobody in.
    ['127.0.0.1', [], false],
    ['not an ip', ['0.0.0.0/0'], false],
    ['', ['0.0.0.0/0'], false],
    ['127.0.0.1', ['garbage', '127.0.0.1/32'], true],
  ])('%p in %j → %p', (ip, cidrs, expected) => {
    expect(ipInCidrs(ip, cidrs)).toBe(expected);
  });
});
