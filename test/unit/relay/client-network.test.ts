import { clientNetwork } from '../../../src/relay/client-network';

describe('clientNetwork: what one AUTH lockout counter covers', () => {
  it.each([
    ['an IPv4 address is its own network', '203.0.113.7', '203.0.113.7'],
    ['its IPv4 neighbour is another', '203.0.113.8', '203.0.113.8'],
    ['an IPv4-mapped IPv6 address counts as its IPv4 address', '::ffff:203.0.113.7', '203.0.113.7'],
    ['an IPv6 address counts as its /64', '2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['whatever its spelling', '2001:DB8:1:2:0:0:0:FFFF', '2001:db8:1:2::/64'],
    ['with a zone index too', 'fe80::1%eth0', 'fe80::/64'],
    ['an unreadable address is its own network', 'not-an-address', 'not-an-address'],
  ])('%s (%s)', (_label, ip, network) => {
    expect(clientNetwork(ip)).toBe(network);
  });

  it('puts IPv6 neighbours in one /64 on one counter, and the next /64 on another', () => {
    const a = clientNetwork('2001:db8:aa:bb:1111:2222:3333:4444');
    expect(clientNetwork('2001:db8:aa:bb:ffff:ffff:ffff:ffff')).toBe(a);
    expect(clientNetwork('2001:db8:aa:bb::')).toBe(a);
    expect(clientNetwork('2001:db8:aa:bc::1')).not.toBe(a);
  });
});
