import { isPublicAddress, resolveAndVet, WebhookUrlRefusedError, type HostLookup } from '../../../src/webhooks/ssrf-guard';

const fakeLookup =
  (table: Record<string, string[]>): HostLookup =>
  async (host) =>
    (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('ssrf guard isPublicAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.5', 'RFC 1918'],
    ['172.16.0.1', 'RFC 1918'],
    ['192.168.1.1', 'RFC 1918'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'documentation (reserved)'],
    ['::1', 'IPv6 loopback'],
    ['fc00::1', 'unique local'],
    ['fd12::1', 'unique local'],
    ['fe80::1', 'IPv6 link-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::', 'IPv6 unspecified'],
    ['2002:a00:1::', '6to4'],
    ['2001::1', 'teredo'],
    ['64:ff9b::a00:1', 'NAT64'],
    ['::7f00:1', 'IPv4-compatible loopback (hex)'],
    ['::127.0.0.1', 'IPv4-compatible loopback (dotted)'],
    ['::a00:1', 'IPv4-compatible private'],
    ['::a9fe:a9fe', 'IPv4-compatible link-local (cloud metadata)'],
    ['::8.8.8.8', 'IPv4-compatible public (deprecated, RFC 4291 2.5.5.1)'],
    ['::808:808', 'IPv4-compatible public (hex)'],
    ['0:0:0:0:0:0:7f00:1', 'IPv4-compatible loopback (uncompressed)'],
    ['not-an-ip', 'not an address'],
  ])('refuses %s (%s)', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])('allows %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
});

describe('ssrf guard resolveAndVet', () => {
  const lookup = fakeLookup({
    'internal.example': ['10.0.0.1'],
    'mixed.example': ['93.184.215.14', '10.0.0.1'],
    'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'empty.example': [],
    'v6-internal.example': ['fd00::5', '::1'],
  });

  it('refuses a name resolving to a private address', async () => {
    await expect(resolveAndVet('internal.example', lookup, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
  });

  it('refuses a name when any of its addresses is private', async () => {
    const err = await resolveAndVet('mixed.example', lookup, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookUrlRefusedError);
    expect((err as WebhookUrlRefusedError).reason).toBe('mixed.example resolves to a non-public address');
  });

  it('never names the private address a refused name resolves to', async () => {
    for (const host of ['internal.example', 'mixed.example', 'v6-internal.example']) {
      const err = (await resolveAndVet(host, lookup, false).catch((e: unknown) => e)) as WebhookUrlRefusedError;
      expect(err).toBeInstanceOf(WebhookUrlRefusedError);
      expect(err.reason).toContain(host);
      expect(err.message).not.toMatch(/10\.0\.0\.1|fd00|::1\b/);
    }
  });

  it('returns the first address of a public name', async () => {
    await expect(resolveAndVet('public.example', lookup, false)).resolves.toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('refuses a name with no address', async () => {
    await expect(resolveAndVet('empty.example', lookup, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
  });

  it('lets private addresses through with allowPrivate', async () => {
    await expect(resolveAndVet('internal.example', lookup, true)).resolves.toEqual({ address: '10.0.0.1', family: 4 });
    await expect(resolveAndVet('mixed.example', lookup, true)).resolves.toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('vets IP literals without resolving them', async () => {
    const never: HostLookup = () => Promise.reject(new Error('lookup must not be called'));
    await expect(resolveAndVet('127.0.0.1', never, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    await expect(resolveAndVet('[::1]', never, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    await expect(resolveAndVet('[::ffff:7f00:1]', never, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    // IPv4-compatible IPv6 (::a.b.c.d), as written and as the URL parser normalises it.
    await expect(resolveAndVet('[::127.0.0.1]', never, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    await expect(resolveAndVet('[::7f00:1]', never, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    await expect(resolveAndVet(new URL('http://[::127.0.0.1]/').hostname, never, false)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    await expect(resolveAndVet('8.8.8.8', never, false)).resolves.toEqual({ address: '8.8.8.8', family: 4 });
    await expect(resolveAndVet('[2001:4860:4860::8888]', never, false)).resolves.toEqual({
      address: '2001:4860:4860::8888',
      family: 6,
    });
    await expect(resolveAndVet('[::1]', never, true)).resolves.toEqual({ address: '::1', family: 6 });
  });
});
