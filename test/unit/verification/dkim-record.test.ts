import { evaluateDkim, parseDkimRecord, type DkimExpectation } from '../../../src/verification/dkim-record';

const RSA: DkimExpectation = { keyType: 'rsa', publicKey: 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC+abc/def+123==' };
const ED: DkimExpectation = { keyType: 'ed25519', publicKey: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=' };

describe('parseDkimRecord', () => {
  it('tolerates folding whitespace around tags and inside p=', () => {
    expect(parseDkimRecord('v=DKIM1;\r\n\tk=rsa; p=MIGf\r\n MA0G')).toEqual({
      ok: true,
      tags: new Map([['v', 'DKIM1'], ['k', 'rsa'], ['p', 'MIGfMA0G']]),
    });
  });

  it('accepts a trailing ";" and keeps inner whitespace of other values', () => {
    expect(parseDkimRecord(' v = DKIM1 ; n = a note ; p=abc ; ')).toEqual({
      ok: true,
      tags: new Map([['v', 'DKIM1'], ['n', 'a note'], ['p', 'abc']]),
    });
  });

  it.each([
    ['v=DKIM1; p=abc; p=def', 'tag "p" appears more than once'],
    ['v=DKIM1;; p=abc', 'empty tag at position 2'],
    ['v=DKIM1; garbage; p=abc', '"garbage" is not a tag=value pair'],
    ['v=DKIM1; 1k=rsa; p=abc', 'invalid tag name "1k"'],
    ['v=DKIM1; n=a;b', '"b" is not a tag=value pair'],
    ['v=DKIM1; p=ab\ncd', 'tag "p" has a line break that is not followed by whitespace'],
    ['v=DKIM1; n=caf\u00e9', 'tag "n" has characters that are not allowed in a value'],
  ])('rejects %j', (value, reason) => {
    expect(parseDkimRecord(value)).toEqual({ ok: false, reason });
  });
});

describe('evaluateDkim', () => {
  const rsa = (value: string | string[]): string[][] => [Array.isArray(value) ? value : [value]];

  it.each<[string, string[][], DkimExpectation, string, string | null]>([
    ['the issued record', rsa(`v=DKIM1; k=rsa; p=${RSA.publicKey}`), RSA, 'ok', null],
    ['a value split across TXT strings', [[`v=DKIM1; k=rsa; p=${RSA.publicKey.slice(0, 20)}`, RSA.publicKey.slice(20)]], RSA, 'ok', null],
    ['folding whitespace inside p=', rsa(`v=DKIM1;\r\n\tk=rsa; p=${RSA.publicKey.slice(0, 10)}\r\n ${RSA.publicKey.slice(10)}`), RSA, 'ok', null],
    ['no v= and no k= (rsa by default)', rsa(`p=${RSA.publicKey}`), RSA, 'ok', null],
    ['k=ed25519', rsa(`v=DKIM1; k=ed25519; p=${ED.publicKey}`), ED, 'ok', null],
    ['t=s, h=sha256, s=email and n=', rsa(`v=DKIM1; h=sha1:sha256; s=email; t=s; n=ours; p=${RSA.publicKey}`), RSA, 'ok', null],
    ['t=y testing mode', rsa(`v=DKIM1; t=y:s; p=${RSA.publicKey}`), RSA, 'ok', 'the record is in testing mode (t=y): receivers may ignore failed signatures'],
    ['no record', [], RSA, 'missing', 'no DKIM record at the selector'],
    ['two records', [[`v=DKIM1; p=${RSA.publicKey}`], ['v=DKIM1; p=other']], RSA, 'multiple', '2 TXT records at the selector; publish exactly one DKIM record there'],
    ['v= not first', rsa(`k=rsa; v=DKIM1; p=${RSA.publicKey}`), RSA, 'syntax', 'the "v=" tag must be the first tag of the DKIM record'],
    ['a wrong version', rsa(`v=DKIM2; p=${RSA.publicKey}`), RSA, 'wrong_version', '"v=DKIM2" is not a DKIM key record version; it must be "v=DKIM1"'],
    ['a revoked key', rsa('v=DKIM1; k=rsa; p='), RSA, 'revoked', 'the key is revoked: "p=" is empty'],
    ['a revoked key with whitespace', rsa('v=DKIM1; p= ;'), RSA, 'revoked', 'the key is revoked: "p=" is empty'],
    ['no p=', rsa('v=DKIM1; k=rsa'), RSA, 'syntax', 'the DKIM record has no "p=" tag'],
    ['p= that is not base64', rsa('v=DKIM1; p=abc$def'), RSA, 'syntax', '"p=" is not base64'],
    ['a wrong key', rsa('v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDother=='), RSA, 'wrong_key', '"p=" is not the public key issued for this selector'],
    ['k=rsa for an ed25519 key', rsa(`v=DKIM1; k=rsa; p=${ED.publicKey}`), ED, 'wrong_k', 'the DKIM record has "k=rsa" but the issued key is ed25519'],
    ['no k= for an ed25519 key', rsa(`v=DKIM1; p=${ED.publicKey}`), ED, 'wrong_k', 'the DKIM record has no "k=" (which means rsa) but the issued key is ed25519'],
    ['a duplicate tag', rsa(`v=DKIM1; p=${RSA.publicKey}; p=${RSA.publicKey}`), RSA, 'syntax', 'the DKIM record is not a valid tag list: tag "p" appears more than once'],
    ['h= without sha256', rsa(`v=DKIM1; h=sha1; p=${RSA.publicKey}`), RSA, 'wrong_hash', '"h=sha1" does not allow sha256, which our signatures use'],
    ['s= without email', rsa(`v=DKIM1; s=tlsrpt; p=${RSA.publicKey}`), RSA, 'not_for_email', '"s=tlsrpt" does not allow the key to be used for email'],
  ])('%s', (_, records, expected, code, reason) => {
    const result = evaluateDkim(records, expected);
    expect(result).toEqual({ verdict: code === 'ok' ? 'pass' : 'fail', code, reason, found: records.map((r) => r.join('')) });
  });

  it('compares the issued key ignoring its whitespace', () => {
    const spaced = { keyType: 'rsa' as const, publicKey: `${RSA.publicKey.slice(0, 8)} \n${RSA.publicKey.slice(8)}` };
    expect(evaluateDkim(rsa(`p=${RSA.publicKey}`), spaced).verdict).toBe('pass');
  });
});
