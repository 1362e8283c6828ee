import { normalizeEmailAddress } from '../../../src/suppressions/email-address';

describe('normalizeEmailAddress: the local part as given, the domain as its lowercase A-label', () => {
  it.each([
    ['user@example.com', 'user@example.com'],
    // The domain compares case-insensitively (RFC 5321 §2.4) …
    ['user@EXAMPLE.Com', 'user@example.com'],
    ['user@example.com.', 'user@example.com'],
    // … the local part exactly as given: its meaning belongs to the receiving host.
    ['User@example.com', 'User@example.com'],
    ['USER.Name+Tag@Example.COM', 'USER.Name+Tag@example.com'],
    ["o'brien!#$%&*/=?^_`{|}~-@example.com", "o'brien!#$%&*/=?^_`{|}~-@example.com"],
    // IDN domains as A-labels; a UTF-8 local part (RFC 6531) as given.
    ['user@bücher.example', 'user@xn--bcher-kva.example'],
    ['user@XN--BCHER-KVA.example', 'user@xn--bcher-kva.example'],
    ['jöhn@example.com', 'jöhn@example.com'],
    // Quotes that are not needed go ("john" and john are one mailbox, RFC 5321 §4.1.2) …
    ['"john"@example.com', 'john@example.com'],
    ['"John.Doe"@example.com', 'John.Doe@example.com'],
    ['"j\\ohn"@example.com', 'john@example.com'],
    // … needed ones stay, with only " and \ escaped.
    ['"john doe"@example.com', '"john doe"@example.com'],
    ['"a@b"@example.com', '"a@b"@example.com'],
    ['"a\\"b"@example.com', '"a\\"b"@example.com'],
    ['"a..b"@example.com', '"a..b"@example.com'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeEmailAddress(input)).toEqual({ ok: true, address: expected, local: expected.slice(0, expected.lastIndexOf('@')), domain: expected.slice(expected.lastIndexOf('@') + 1) });
  });

  it.each([
    ['', /empty/],
    ['user', /local@domain/],
    ['@example.com', /empty local part/],
    ['user@', /domain that must not be empty/],
    ['.user@example.com', /dot/],
    ['user.@example.com', /dot/],
    ['us..er@example.com', /dot/],
    ['john doe@example.com', /quoting/],
    ['a(b)@example.com', /quoting/],
    ['a"b@example.com', /quoting/],
    ['"unterminated@example.com', /quoting/],
    ['"a"b"@example.com', /malformed quoted/],
    ['user@localhost', /two labels/],
    ['user@[192.0.2.1]', /address literal/],
    ['user@192.0.2.1', /not an IP address/],
    ['user@exa mple.com', /spaces/],
    ['user@example.com ', /spaces/],
    ['user@-bad.example', /label/],
    ['user\r\n@example.com', /control characters/],
    [`${'a'.repeat(65)}@example.com`, /64 octets/],
    [`${'ö'.repeat(33)}@example.com`, /64 octets/],
    [`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, /254 octets/],
  ])('refuses %j (%s)', (input, reason) => {
    const r = normalizeEmailAddress(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('gives different spellings of one mailbox one form, and different mailboxes different forms', () => {
    const norm = (a: string) => (normalizeEmailAddress(a) as { address: string }).address;
    expect(norm('Bob@Example.COM')).toBe(norm('Bob@example.com'));
    expect(norm('"Bob"@example.com')).toBe(norm('Bob@example.com'));
    expect(norm('bob@example.com')).not.toBe(norm('Bob@example.com'));
  });
});
