import { classifyPart, delimiterProblem, parameters, parseHeaderSection, type PartHeaders } from '../../../src/relay/mime-policy';

const part = (contentType?: string, disposition?: string, encoding?: string): PartHeaders => ({
  contentType: contentType === undefined ? [] : [contentType],
  contentDisposition: disposition === undefined ? [] : [disposition],
  contentTransferEncoding: encoding === undefined ? [] : [encoding],
});

describe('classifyPart: only text/plain, text/html and mixed/alternative/related containers (DESIGN §5)', () => {
  it.each([
    ['no Content-Type at all (RFC 2045 default)', part(), null, { kind: 'text', type: 'text/plain', encoding: 'identity' }],
    ['text/plain; charset=utf-8', part(' text/plain; charset=utf-8'), null, { kind: 'text', type: 'text/plain', encoding: 'identity' }],
    ['TEXT/HTML in quoted-printable', part(' TEXT/HTML', undefined, ' Quoted-Printable'), 'multipart/alternative', { kind: 'text', type: 'text/html', encoding: 'quoted-printable' }],
    ['text/plain in base64, inline', part(' text/plain', ' inline', ' base64'), 'multipart/mixed', { kind: 'text', type: 'text/plain', encoding: 'base64' }],
    ['text/plain in 8bit', part(' text/plain', undefined, ' 8bit'), null, { kind: 'text', type: 'text/plain', encoding: 'identity' }],
    ['multipart/alternative with a quoted boundary', part(' multipart/alternative; boundary="----=_Part_1.2"'), null, { kind: 'multipart', type: 'multipart/alternative', boundary: '----=_Part_1.2' }],
    ['multipart/mixed with a bare boundary', part(' multipart/mixed;\r\n boundary=abc'), null, { kind: 'multipart', type: 'multipart/mixed', boundary: 'abc' }],
    ['multipart/related inside mixed', part(' multipart/related; boundary=r; type="text/html"'), 'multipart/mixed', { kind: 'multipart', type: 'multipart/related', boundary: 'r' }],
  ])('allows %s', (_label, headers, parent, verdict) => {
    expect(classifyPart(headers, parent)).toEqual(verdict);
  });

  // The parent's type is a default parameter: jest would take a fourth plain one for `done`.
  it.each([
    ['Content-Disposition filename', part(' text/plain', ' attachment; filename="a.txt"'), /file name/],
    ['Content-Disposition filename on an inline part', part(' text/plain', ' inline; filename=a.pdf'), /file name/],
    ['Content-Type name', part(' text/plain; name="invoice.pdf"'), /file name/],
    ['RFC 2231 filename*=', part(' text/plain', " inline; filename*=utf-8''invoice.pdf"), /file name/],
    ['RFC 2231 continuation filename*0*=', part(' text/plain', " inline; filename*0*=utf-8''inv; filename*1=oice.pdf"), /file name/],
    ['RFC 2231 name*=', part(" text/html; name*=utf-8''x.html"), /file name/],
    ['a name after a comment', part(' text/plain', ' inline; (note) filename = "x.pdf"'), /file name/],
    ['NAME in capitals', part(' text/plain; NAME=x.pdf'), /file name/],
    ['Content-Disposition: attachment without a name', part(' text/plain', ' attachment'), /Content-Disposition: attachment/],
    ['an unknown disposition', part(' text/plain', ' form-data'), /Content-Disposition: form-data/],
    ['application/pdf', part(' application/pdf'), /application\/pdf/],
    ['application/ms-tnef', part(' application/ms-tnef'), /application\/ms-tnef/],
    ['image/png without a name', part(' image/png'), /image\/png/],
    ['message/rfc822', part(' message/rfc822'), /message\/rfc822/],
    ['message/partial', part(' message/partial; id=1; number=1'), /message\/partial/],
    ['a part without Content-Type in a digest (RFC 2046 §5.1.5)', part(), /message\/rfc822/, 'multipart/digest'],
    ['multipart/digest', part(' multipart/digest; boundary=d'), /multipart\/digest/],
    ['multipart/signed', part(' multipart/signed; boundary=s; protocol="application/pgp-signature"'), /multipart\/signed/],
    ['multipart/report', part(' multipart/report; boundary=s; report-type=delivery-status'), /multipart\/report/],
    ['text/calendar', part(' text/calendar; method=REQUEST'), /text\/calendar/],
    ['text/x-uuencode', part(' text/x-uuencode'), /text\/x-uuencode/],
    ['an empty Content-Type', part(' '), /empty Content-Type/],
    ['x-uuencode transfer encoding', part(' text/plain', undefined, ' x-uuencode'), /Content-Transfer-Encoding x-uuencode/],
    ['a multipart in base64', part(' multipart/mixed; boundary=b', undefined, ' base64'), /in base64/],
    ['multipart without a boundary', part(' multipart/mixed'), /usable boundary/],
    ['multipart with an empty boundary', part(' multipart/mixed; boundary=""'), /usable boundary/],
    ['multipart with a boundary over 70 characters', part(` multipart/mixed; boundary="${'b'.repeat(71)}"`), /usable boundary/],
    ['multipart with a boundary ending in a space', part(' multipart/mixed; boundary="ab "'), /usable boundary/],
    ['multipart with a boundary outside bchars', part(' multipart/mixed; boundary="a;b\\"c"'), /usable boundary/],
    ['multipart with two boundaries', part(' multipart/mixed; boundary=a; boundary=b'), /usable boundary/],
    ['multipart with an RFC 2231 boundary*', part(" multipart/mixed; boundary*=us-ascii''a"), /usable boundary/],
    ['two Content-Type fields', { ...part(), contentType: [' text/plain', ' multipart/mixed; boundary=b'] }, /more than one Content-Type/],
    ['two Content-Disposition fields', { ...part(' text/plain'), contentDisposition: [' inline', ' attachment'] }, /more than one Content-Disposition/],
    ['two Content-Transfer-Encoding fields', { ...part(' text/plain'), contentTransferEncoding: [' 7bit', ' base64'] }, /more than one Content-Transfer-Encoding/],
  ])('refuses %s', (_label, headers, reason, parent: string | null = null) => {
    const verdict = classifyPart(headers as PartHeaders, parent);
    expect(verdict.kind).toBe('refused');
    expect(verdict.kind === 'refused' && verdict.reason).toMatch(reason as RegExp);
  });
});

describe('parseHeaderSection and parameters', () => {
  it('unfolds fields, lowercases names, drops the whitespace allowed before the colon and stops at the empty line', () => {
    const fields = parseHeaderSection('From : a@b.example\r\nSubject: one\r\n two\r\nX-Empty:\r\nnot a field\r\n\r\nBody: no\r\n');
    expect(fields).toEqual([
      { name: 'from', value: ' a@b.example' },
      { name: 'subject', value: ' one two' },
      { name: 'x-empty', value: '' },
    ]);
  });

  it('splits parameters on semicolons outside quoted strings', () => {
    expect(parameters(' multipart/mixed; boundary="a;b"; charset=utf-8')).toEqual([
      { name: 'boundary', value: 'a;b' },
      { name: 'charset', value: 'utf-8' },
    ]);
  });
});

describe('delimiterProblem: every --boundary line is a delimiter the parser saw', () => {
  const raw = (lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
  const message = ['Content-Type: multipart/mixed; boundary=b', '', 'preamble', '--b', '', 'one', '--b', '', 'two', '--b--', 'epilogue'];

  it.each([
    ['no multipart at all', ['Subject: x', '', '--b'], []],
    ['a well-formed multipart', message, [{ boundary: 'b', children: 2 }]],
    ['a multipart without its close delimiter', message.slice(0, -2), [{ boundary: 'b', children: 2 }]],
    ['a signature separator that only starts with --', [...message.slice(0, 5), '-- ', 'sig', ...message.slice(6)], [{ boundary: 'b', children: 2 }]],
  ])('accepts %s', (_label, lines, walked) => {
    expect(delimiterProblem(raw(lines), walked)).toBeNull();
  });

  it.each([
    ['a delimiter with trailing blanks', ['--b', '', 'one', '--b ', '', 'two', '--b--'], [{ boundary: 'b', children: 1 }], /starts like a boundary/],
    ['a delimiter with text after it', ['--b', '', 'one', '--bx', '--b--'], [{ boundary: 'b', children: 1 }], /starts like a boundary/],
    ['more delimiters than parts seen', ['--b', '', 'one', '--b', '', 'two', '--b--'], [{ boundary: 'b', children: 1 }], /do not match/],
    ['two close delimiters', ['--b', '', 'one', '--b--', '--b--'], [{ boundary: 'b', children: 1 }], /do not match/],
    ['the same boundary twice', ['--b', '--b--'], [{ boundary: 'b', children: 1 }, { boundary: 'b', children: 1 }], /same boundary/],
    ['a boundary that starts another', ['--b', '--bb', '--bb--', '--b--'], [{ boundary: 'b', children: 1 }, { boundary: 'bb', children: 1 }], /starts another/],
    ['a multipart without parts', ['preamble only'], [{ boundary: 'b', children: 0 }], /without parts/],
  ])('refuses %s', (_label, lines, walked, reason) => {
    expect(delimiterProblem(raw(lines), walked)).toMatch(reason);
  });
});
