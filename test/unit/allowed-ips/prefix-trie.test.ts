import { networkContains, parseClientAddress, parseNetwork, type Network } from '../../../src/allowed-ips/network';
import { PrefixTrie } from '../../../src/allowed-ips/prefix-trie';

/** A trie pair (IPv4, IPv6) over CIDR text, the way the allowlist cache uses it. */
function setOf(cidrs: string[]) {
  const v4 = new PrefixTrie(1);
  const v6 = new PrefixTrie(4);
  const net = (cidr: string) => {
    const n = parseNetwork(cidr);
    if (!n) throw new Error(`bad test CIDR ${cidr}`);
    return n;
  };
  const trie = (n: Network) => (n.v6 ? v6 : v4);
  const set = {
    add: (cidr: string) => (set.addNet(net(cidr)), set),
    addNet: (n: Network) => trie(n).add(n.words, 0, n.prefix),
    remove: (cidr: string) => set.removeNet(net(cidr)),
    removeNet: (n: Network) => trie(n).remove(n.words, 0, n.prefix),
    has: (ip: string) => {
      const a = parseClientAddress(ip);
      if (!a) throw new Error(`bad test address ${ip}`);
      return (a.v6 ? v6 : v4).contains(a.words);
    },
    v4,
    v6,
  };
  for (const c of cidrs) set.add(c);
  return set;
}

describe('parseClientAddress and parseNetwork', () => {
  it.each([
    ['192.0.2.1', { v6: false, words: [0xc0000201] }],
    ['0.0.0.0', { v6: false, words: [0] }],
    ['255.255.255.255', { v6: false, words: [0xffffffff] }],
    ['::ffff:192.0.2.1', { v6: false, words: [0xc0000201] }],
    ['::FFFF:c000:0201', { v6: false, words: [0xc0000201] }],
    ['2001:db8::1', { v6: true, words: [0x20010db8, 0, 0, 1] }],
    ['::', { v6: true, words: [0, 0, 0, 0] }],
    ['::1', { v6: true, words: [0, 0, 0, 1] }],
    ['fe80::1%eth0', { v6: true, words: [0xfe800000, 0, 0, 1] }],
    ['1:2:3:4:5:6:7:8', { v6: true, words: [0x10002, 0x30004, 0x50006, 0x70008] }],
    ['64:ff9b::192.0.2.33', { v6: true, words: [0x0064ff9b, 0, 0, 0xc0000221] }],
  ])('reads the client address %p', (text, expected) => {
    expect(parseClientAddress(text)).toEqual(expected);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', '::1.2.3', 'gg::1', '1::2:'])(
    'reads nothing from %p',
    (text) => {
      expect(parseClientAddress(text)).toBeNull();
    },
  );

  it.each([
    ['192.0.2.0/24', { v6: false, words: [0xc0000200], prefix: 24 }],
    ['192.0.2.7', { v6: false, words: [0xc0000207], prefix: 32 }],
    ['2001:db8::/32', { v6: true, words: [0x20010db8, 0, 0, 0], prefix: 32 }],
    ['::ffff:10.0.0.0/104', { v6: false, words: [0x0a000000], prefix: 8 }],
    ['0.0.0.0/0', { v6: false, words: [0], prefix: 0 }],
  ])('reads the network %p', (text, expected) => {
    expect(parseNetwork(text)).toEqual(expected);
  });

  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '::/129', 'x/8'])('reads no network from %p', (text) => {
    expect(parseNetwork(text)).toBeNull();
  });
});

describe('PrefixTrie: which addresses a set of CIDRs holds', () => {
  const table: Array<[string, string[], Array<[string, boolean]>]> = [
    [
      'IPv4 hosts and networks',
      ['192.0.2.0/24', '198.51.100.7/32', '10.0.0.0/8'],
      [
        ['192.0.2.0', true],
        ['192.0.2.255', true],
        ['192.0.1.255', false],
        ['192.0.3.0', false],
        ['198.51.100.7', true],
        ['198.51.100.6', false],
        ['198.51.100.8', false],
        ['10.255.255.255', true],
        ['11.0.0.0', false],
        ['9.255.255.255', false],
      ],
    ],
    [
      'IPv4-mapped clients match IPv4 networks, never IPv6 ones',
      ['127.0.0.0/8', '::/8'],
      [
        ['::ffff:127.0.0.1', true],
        ['::ffff:7f00:1', true],
        ['::ffff:128.0.0.1', false],
        ['::1', true],
        ['127.0.0.1', true],
      ],
    ],
    [
      'IPv6 networks at word boundaries and inside words',
      ['2001:db8::/32', '2001:db9:8000::/33', 'fd00:1:2:3::/64', '2001:db8:ffff::1/128', '2a00::/12'],
      [
        ['2001:db8::', true],
        ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
        ['2001:db9::1', false],
        ['2001:db9:8000::1', true],
        ['2001:db9:7fff:ffff::', false],
        ['fd00:1:2:3:ffff::', true],
        ['fd00:1:2:4::', false],
        ['2a0f:ffff::1', true],
        ['2a10::', false],
        ['29ff:ffff::', false],
      ],
    ],
    [
      'the families never cross',
      ['0.0.0.0/8'],
      [
        ['::', false],
        ['::1', false],
        ['0.0.0.1', true],
      ],
    ],
    [
      '/0 edges: the whole family, and nothing of the other',
      ['0.0.0.0/0'],
      [
        ['0.0.0.0', true],
        ['255.255.255.255', true],
        ['::ffff:1.2.3.4', true],
        ['::', false],
        ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', false],
      ],
    ],
    [
      '/1 and /127 edges',
      ['128.0.0.0/1', '::/1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127'],
      [
        ['127.255.255.255', false],
        ['128.0.0.0', true],
        ['7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
        ['8000::', false],
        ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
        ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd', false],
      ],
    ],
    [
      'overlapping and nested networks',
      ['10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '10.0.0.0/8', '10.1.2.0/24', '2001:db8::/48', '2001:db8::/32'],
      [
        ['10.1.2.3', true],
        ['10.200.0.1', true],
        ['11.1.2.3', false],
        ['2001:db8:1::', true],
      ],
    ],
    ['an empty set holds nothing', [], [['0.0.0.0', false], ['::', false], ['192.0.2.1', false]]],
  ];

  it.each(table)('%s', (_name, cidrs, cases) => {
    const set = setOf(cidrs);
    for (const [ip, expected] of cases) expect([ip, set.has(ip)]).toEqual([ip, expected]);
  });

  it('counts owners: removing one copy of a network keeps the others', () => {
    const set = setOf(['192.0.2.0/24', '192.0.2.0/24', '2001:db8::/32']);
    expect(set.v4.size).toBe(1);
    expect(set.remove('192.0.2.0/24')).toBe(true);
    expect(set.has('192.0.2.9')).toBe(true);
    expect(set.remove('192.0.2.0/24')).toBe(true);
    expect(set.has('192.0.2.9')).toBe(false);
    expect(set.remove('192.0.2.0/24')).toBe(false);
    expect(set.v4.size).toBe(0);
  });

  it('removes a network and keeps the ones around and inside it', () => {
    const set = setOf(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.2.0.0/16', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:2::/48']);
    expect(set.remove('10.1.0.0/16')).toBe(true);
    expect(set.has('10.1.9.9')).toBe(true); // still inside 10/8
    expect(set.remove('10.0.0.0/8')).toBe(true);
    expect(set.has('10.1.9.9')).toBe(false);
    expect(set.has('10.1.2.9')).toBe(true);
    expect(set.has('10.2.0.1')).toBe(true);
    expect(set.has('10.3.0.1')).toBe(false);
    expect(set.remove('2001:db8::/32')).toBe(true);
    expect(set.has('2001:db8:1::5')).toBe(true);
    expect(set.has('2001:db8:3::5')).toBe(false);
    expect(set.remove('2001:db8:1::/48')).toBe(true);
    expect(set.has('2001:db8:1::5')).toBe(false);
    expect(set.has('2001:db8:2::5')).toBe(true);
  });

  it('does not remove what it does not hold, nor a network that only contains or lies inside a held one', () => {
    const set = setOf(['10.1.0.0/16', '2001:db8::/32']);
    expect(set.remove('10.0.0.0/8')).toBe(false);
    expect(set.remove('10.1.2.0/24')).toBe(false);
    expect(set.remove('10.2.0.0/16')).toBe(false);
    expect(set.remove('2001:db8::/48')).toBe(false);
    expect(set.has('10.1.2.3')).toBe(true);
    expect(set.has('2001:db8::1')).toBe(true);
  });

  it('agrees with a plain scan over 4,000 random adds and removes (seeded)', () => {
    let seed = 0x9e3779b9;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    // A narrow address space (few distinct high bits) so that networks nest and collide often.
    const word = () => (((rand() * 4) | 0) << 30) | ((rand() * 0x3fffffff) | 0);
    const randomNet = (): Network => {
      const v6 = rand() < 0.5;
      const max = v6 ? 128 : 32;
      const prefix = (rand() * (max + 1)) | 0;
      const words = v6 ? [word() >>> 0, 0, rand() < 0.5 ? 0 : word() >>> 0, word() >>> 0] : [word() >>> 0];
      return parseNetwork(`${v6 ? v6Text(words) : v4Text(words[0])}/${prefix}`)!;
    };
    const v4Text = (w: number) => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join('.');
    const v6Text = (ws: number[]) => ws.flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).join(':');
    const set = setOf([]);
    const held: Network[] = [];
    for (let step = 0; step < 4000; step++) {
      if (held.length > 0 && rand() < 0.4) {
        const [net] = held.splice((rand() * held.length) | 0, 1);
        expect(set.removeNet(net)).toBe(true);
      } else {
        const net = randomNet();
        held.push(net);
        set.addNet(net);
      }
      if (step % 20 === 0) {
        for (let k = 0; k < 20; k++) {
          // Half the probes are inside a held network, half anywhere.
          const base = held.length && rand() < 0.5 ? held[(rand() * held.length) | 0] : randomNet();
          const addr = { v6: base.v6, words: base.words.map((w) => (w ^ (rand() < 0.5 ? (word() >>> (rand() * 32)) : 0)) >>> 0) };
          const expected = held.some((n) => networkContains(n, addr));
          const trie = addr.v6 ? set.v6 : set.v4;
          expect(trie.contains(addr.words)).toBe(expected);
        }
      }
    }
    for (const net of held.splice(0)) expect(set.removeNet(net)).toBe(true);
    expect(set.v4.size + set.v6.size).toBe(0);
    expect(set.has('0.0.0.0')).toBe(false);
  });
});
