import { dkimRecordName, dkimValue, spfValue, splitTxt } from '../../../src/verification/records';

describe('splitTxt', () => {
  it.each([
    ['', ['']],
    ['v=spf1 -all', ['v=spf1 -all']],
    ['a'.repeat(255), ['a'.repeat(255)]],
    ['a'.repeat(256), ['a'.repeat(255), 'a']],
    ['a'.repeat(600), ['a'.repeat(255), 'a'.repeat(255), 'a'.repeat(90)]],
  ])('splits %#', (value, expected) => {
    expect(splitTxt(value)).toEqual(expected);
  });

  it('keeps every string within 255 bytes and never cuts a UTF-8 sequence', () => {
    const value = `${'a'.repeat(254)}é${'ü'.repeat(300)}`;
    const parts = splitTxt(value);
    for (const p of parts) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(255);
    expect(parts.join('')).toBe(value);
    expect(parts[0]).toBe('a'.repeat(254));
  });

  it('round-trips a 4096-bit DKIM value', () => {
    const value = dkimValue('rsa', 'A'.repeat(736));
    const parts = splitTxt(value);
    expect(parts.length).toBe(Math.ceil(value.length / 255));
    expect(parts.join('')).toBe(value);
  });
});

describe('record values', () => {
  it('builds the SPF, DKIM value and owner name', () => {
    expect(spfValue('_spf.mw.example')).toBe('v=spf1 include:_spf.mw.example ~all');
    expect(dkimValue('ed25519', 'abc=')).toBe('v=DKIM1; k=ed25519; p=abc=');
    expect(dkimRecordName('sel', 'example.com')).toBe('sel._domainkey.example.com');
  });
});
