import { parseIp } from '../../../src/verification/ip-address';
import { expandMacroString, type MacroContext } from '../../../src/verification/spf-macro';

function context(ip: string, overrides: Partial<MacroContext> = {}): MacroContext {
  const address = parseIp(ip);
  if (!address) throw new Error(ip);
  return {
    sender: 'strong-bad@email.example.com',
    localPart: 'strong-bad',
    senderDomain: 'email.example.com',
    domain: 'email.example.com',
    ip: address,
    helo: 'mx.example.org',
    validatedDomain: 'unknown',
    receivingDomain: 'mx.receiver.example',
    timestamp: 1700000000,
    ...overrides,
  };
}

function expand(text: string, ip = '192.0.2.3', explanation = false, overrides: Partial<MacroContext> = {}): string {
  const result = expandMacroString(text, context(ip, overrides), explanation);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

describe('RFC 7208 §7.4 macro examples (strong-bad@email.example.com, 192.0.2.3)', () => {
  it.each([
    ['%{s}', 'strong-bad@email.example.com'],
    ['%{o}', 'email.example.com'],
    ['%{d}', 'email.example.com'],
    ['%{d4}', 'email.example.com'],
    ['%{d3}', 'email.example.com'],
    ['%{d2}', 'example.com'],
    ['%{d1}', 'com'],
    ['%{dr}', 'com.example.email'],
    ['%{d2r}', 'example.email'],
    ['%{l}', 'strong-bad'],
    ['%{l-}', 'strong.bad'],
    ['%{lr}', 'strong-bad'],
    ['%{lr-}', 'bad.strong'],
    ['%{l1r-}', 'strong'],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'],
    ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
    ['%{lr-}.lp.%{ir}.%{v}._spf.%{d2}', 'bad.strong.lp.3.2.0.192.in-addr._spf.example.com'],
    ['%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}', '3.2.0.192.in-addr.strong.lp._spf.example.com'],
    ['%{d2}.trusted-domains.example.net', 'example.com.trusted-domains.example.net'],
  ])('%s → %s', (macro, expected) => {
    expect(expand(macro)).toBe(expected);
  });

  it('expands the IPv6 example 2001:db8::cb01 to nibbles', () => {
    expect(expand('%{ir}.%{v}._spf.%{d2}', '2001:db8::cb01')).toBe(
      '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com',
    );
  });
});

describe('macro details', () => {
  it.each([
    ['%{i}', '192.0.2.3'],
    ['%{i2}', '2.3'],
    ['%{h}', 'mx.example.org'],
    ['%{p}', 'unknown'],
    ['%{S}', 'strong-bad%40email.example.com'],
    ['%{L}', 'strong-bad'],
    ['%%%_%-', '% %20'],
    ['%{l+-}', 'strong.bad'],
    ['%{d2r.}', 'example.email'],
    ['%{D}', 'email.example.com'],
    ['%{d200}', 'email.example.com'],
    ['%{dR}', 'com.example.email'],
  ])('%s → %s', (macro, expected) => {
    expect(expand(macro)).toBe(expected);
  });

  it('splits on every listed delimiter and joins with dots', () => {
    expect(expand('%{l-+_=,/}', '192.0.2.3', false, { localPart: 'a-b+c_d=e,f/g' })).toBe('a.b.c.d.e.f.g');
    expect(expand('%{l1r+}', '192.0.2.3', false, { localPart: 'mary+news' })).toBe('mary');
  });

  it('URL-escapes uppercase macros byte by byte, keeping unreserved characters', () => {
    expect(expand('%{L}', '192.0.2.3', false, { localPart: 'a b~é' })).toBe('a%20b~%C3%A9');
  });

  it('gives c, r and t only inside an explanation', () => {
    expect(expand('%{c} %{r} %{t}', '2001:db8::cb01', true)).toBe('2001:db8::cb01 mx.receiver.example 1700000000');
    expect(expand('%{i} is not allowed', '192.0.2.3', true)).toBe('192.0.2.3 is not allowed');
    expect(expandMacroString('%{c}', context('192.0.2.3'))).toEqual({
      ok: false,
      reason: 'unknown macro letter "c" in "%{c}" (only allowed in exp= explanations)',
    });
  });

  it.each([
    ['%{x}', 'unknown macro letter "x" in "%{x}"'],
    ['%{d0}', 'macro "%{d0}" keeps zero labels'],
    ['%{d', 'unterminated macro in "%{d"'],
    ['%d', '"%" must be followed by "{", "%", "_" or "-" in "%d"'],
    ['a%', '"%" must be followed by "{", "%", "_" or "-" in "a%"'],
    ['%{d2x}', 'invalid macro "%{d2x}" in "%{d2x}"'],
    ['a b', 'character " " is not allowed in "a b"'],
  ])('rejects %s', (text, reason) => {
    expect(expandMacroString(text, context('192.0.2.3'))).toEqual({ ok: false, reason });
  });
});
