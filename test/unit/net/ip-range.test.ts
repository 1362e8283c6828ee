import { classifyAddress, isPublicAddress } from '../../../src/net/ip-range';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['2606:4700:4700::1111'],
    ['2001:4860:4860::8888'],
    ['::ffff:8.8.8.8'],
    ['[2606:4700:4700::1111]'],
  ])('%s is public unicast', (ip) => {
    expect(classifyAddress(ip)).toEqual({ public: true });
  });

  it.each([
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT (100.64.0.0/10)'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique local (fc00::/7)'],
    ['fd12:3456::1', 'unique local (fc00::/7)'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:a00:1', 'IPv4-mapped private'],
    // IPv4-compatible (RFC 4291 §2.5.5.1, deprecated), dotted and hex: ipaddr.js alone calls the hex form unicast.
    ['::10.0.0.1', 'IPv4-compatible (deprecated; carries 10.0.0.1)'],
    ['::a00:1', 'IPv4-compatible (deprecated; carries 10.0.0.1)'],
    ['::8.8.8.8', 'IPv4-compatible (deprecated; carries 8.8.8.8)'],
    ['::ffff:0:10.0.0.1', 'IPv4-translated (::ffff:0:0/96)'],
    ['64:ff9b::a00:1', 'NAT64 (64:ff9b::/96)'],
    ['2002:a00:1::1', '6to4 (2002::/16), carrying 10.0.0.1'],
    ['2002:7f00:1::', '6to4 (2002::/16), carrying 127.0.0.1'],
    // Teredo carries the client's address inverted in the last 32 bits: f5ff:fffe is 10.0.0.1.
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'Teredo (2001::/32), carrying 10.0.0.1'],
    ['fe80::1%eth0', 'not an IP address'],
    ['0x7f.0.0.1', 'not an IP address'],
    ['010.0.0.1', 'not an IP address'],
    ['ns1.example.com', 'not an IP address'],
    ['', 'not an IP address'],
  ])('%s is not public: %s', (ip, range) => {
    expect(classifyAddress(ip)).toEqual({ public: false, range });
    expect(isPublicAddress(ip)).toBe(false);
  });
});
