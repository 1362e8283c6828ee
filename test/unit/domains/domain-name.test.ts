import { normalizeDomainName } from '../../../src/domains/domain-name';

describe('normalizeDomainName', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['mail.example.com.', 'mail.example.com'],
    ['  example.org  ', 'example.org'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['例え.jp', 'xn--r8jz45g.jp'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['a-b.c-d.example', 'a-b.c-d.example'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
  ])('accepts %p as %p', (input, expected) => {
    expect(normalizeDomainName(input)).toEqual({ ok: true, domain: expected });
  });

  it.each([
    ['', /empty/],
    ['localhost', /two labels/],
    ['192.0.2.1', /IP address/],
    ['[2001:db8::1]', /IP address/],
    ['2001:db8::1', /IP address|not allowed/],
    ['example..com', /empty labels/],
    ['.example.com', /empty labels/],
    ['example.com..', /empty labels/],
    [`${'a'.repeat(64)}.com`, /63/],
    [`${'abcdefghi.'.repeat(26)}com`, /253/],
    ['exa mple.com', /spaces/],
    ['exa_mple.com', /letters, digits/],
    ['-example.com', /letters, digits/],
    ['example-.com', /letters, digits/],
    ['ex!ample.com', /not allowed|letters/],
    ['example.123', /numeric|not allowed/],
    ['user@example.com', /not allowed|letters/],
    ['http://example.com', /not allowed|letters|labels/],
  ])('rejects %p', (input, reason) => {
    const r = normalizeDomainName(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
