import { Readable } from 'node:stream';
import { inspectMessage, MAX_PARTS, type MessageDefect } from '../../../src/relay/message-inspector';
import { TextBodyProbe } from '../../../src/relay/text-body-probe';

const inspect = (text: string, maxBytes = 1024 * 1024) => inspectMessage(Readable.from([Buffer.from(text, 'latin1')]), maxBytes);
const msg = (headers: string[], body: string[]) => [...headers, '', ...body, ''].join('\r\n');
const mixed = (parts: string[][], boundary = 'b') =>
  msg(['From: a@sender.example', `Content-Type: multipart/mixed; boundary="${boundary}"`], [...parts.flatMap((p) => [`--${boundary}`, ...p]), `--${boundary}--`]);

describe('inspectMessage', () => {
  it('returns the bytes it inspected and the From: domains', async () => {
    const text = msg(['From: "A, B" <a@Sender.Example.>, c@other.example', 'Subject: s'], ['hello']);
    const out = await inspect(text);
    expect(out).toEqual({ raw: Buffer.from(text), defect: null, fromDomains: ['sender.example', 'other.example'] });
  });

  it.each<[string, string, MessageDefect | RegExp]>([
    ['a bare CR hiding a From:', msg(['From: a@sender.example', 'Subject: hi\rFrom: ceo@victim.example'], ['x']), { kind: 'bare-newline' }],
    ['two From: fields', msg(['From: a@sender.example', 'from: b@sender.example'], ['x']), { kind: 'multiple-from' }],
    ['a first line "From :" that mailsplit reads as an mbox line', msg(['From : ceo@victim.example', 'From: a@sender.example'], ['x']), { kind: 'multiple-from' }],
    ['a line of 999 bytes', msg(['From: a@sender.example'], ['x'.repeat(999)]), { kind: 'line-too-long' }],
    ['a part header over 64 KiB', mixed([[...Array.from({ length: 900 }, () => `X-F: ${'f'.repeat(80)}`), '', 'x']]), { kind: 'header-too-long' }],
    ['a PDF part', mixed([['Content-Type: text/plain', '', 'see'], ['Content-Type: application/pdf', '', 'JVBE']]), /application\/pdf/],
    ['a text part with a file name', mixed([['Content-Type: text/plain', 'Content-Disposition: inline; filename="a.txt"', '', 'x']]), /file name/],
    ['a uuencoded file', msg(['From: a@sender.example'], ['hi', 'begin 644 a.pdf', 'M', 'end']), /uuencoded/],
    ['message/rfc822 inline', mixed([['Content-Type: message/rfc822', 'Content-Disposition: inline', '', 'From: x@y.example', '', 'inner']]), /message\/rfc822/],
    ['multipart/digest', msg(['From: a@sender.example', 'Content-Type: multipart/digest; boundary=d'], ['--d', '', 'From: x@y.example', '', 'inner', '--d--']), /multipart\/digest/],
    ['a multipart without a boundary', msg(['From: a@sender.example', 'Content-Type: multipart/mixed'], ['--b', '', 'x', '--b--']), /usable boundary/],
    ['a multipart whose boundary never comes', msg(['From: a@sender.example', 'Content-Type: multipart/mixed; boundary=zz'], ['just text']), /without parts/],
    ['a delimiter with trailing blanks', mixed([['', 'text', '--b ', 'Content-Type: application/pdf', '', 'JVBE']]), /starts like a boundary/],
    ['an outer boundary inside an inner part', mixed([['Content-Type: multipart/alternative; boundary=i', '', '--i', '', 'text', '--b', 'Content-Type: application/pdf', '', 'JVBE', '--i--']]), /do not match/],
    ['a Content-Type read two ways', msg(['From: a@sender.example', 'Content-Type: text/plain (comment)'], ['x']), /read two ways/],
    [`more than ${MAX_PARTS} parts`, mixed(Array.from({ length: MAX_PARTS + 1 }, () => ['', 'x'])), new RegExp(`more than ${MAX_PARTS} MIME parts`)],
  ])('refuses %s', async (_label, text, expected) => {
    const out = await inspect(text);
    expect(out.raw.length).toBe(0);
    if (expected instanceof RegExp) {
      expect(out.defect?.kind).toBe('attachment');
      expect(out.defect && 'reason' in out.defect && out.defect.reason).toMatch(expected);
    } else expect(out.defect).toEqual(expected);
  });

  it('answers too-big past maxBytes before anything else', async () => {
    const out = await inspect(msg(['From: a@sender.example', 'Subject: hi\rFrom: x'], ['x'.repeat(5000)]), 1024);
    expect(out.defect).toEqual({ kind: 'too-big' });
  });

  it('accepts text in mixed, alternative and related, in every allowed transfer encoding', async () => {
    const text = mixed([
      ['Content-Type: multipart/alternative; boundary="alt"', '', '--alt', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', Buffer.from('plain text').toString('base64'), '--alt', 'Content-Type: multipart/related; boundary=rel', '', '--rel', 'Content-Type: text/html', 'Content-Transfer-Encoding: quoted-printable', '', '<p>caf=C3=A9</p>', '--rel--', '--alt--'],
      ['Content-Type: text/plain', 'Content-Disposition: inline', 'Content-Transfer-Encoding: 7bit', '', '-- ', 'signature'],
    ]);
    expect(await inspect(text)).toMatchObject({ defect: null, fromDomains: ['sender.example'] });
  });

  it('rejects when the client goes away in the middle of DATA', async () => {
    const stream = new Readable({ read() {} });
    const result = inspectMessage(stream, 1024);
    stream.push(Buffer.from('From: a@b.example\r\n'));
    stream.destroy(new Error('Connection closed before the message was received in full'));
    await expect(result).rejects.toThrow(/Connection closed/);
  });
});

describe('TextBodyProbe: uuencoded and yEnc files in a text body, after the transfer encoding', () => {
  const probe = (encoding: 'identity' | 'base64' | 'quoted-printable', body: string, size = 3) => {
    const p = new TextBodyProbe(encoding);
    const bytes = Buffer.from(body, 'latin1');
    for (let i = 0; i < bytes.length; i += size) p.write(bytes.subarray(i, i + size));
    p.end();
    return p.found;
  };
  const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64').replace(/(.{76})/g, '$1\r\n');

  it.each<[string, 'identity' | 'base64' | 'quoted-printable', string, boolean]>([
    ['begin 644 name', 'identity', 'hello\r\nbegin 644 invoice.pdf\r\nM\r\nend\r\n', true],
    ['begin 0644 name as the first line', 'identity', 'begin 0644 a', true],
    ['begin-base64 644 name', 'identity', 'x\r\nbegin-base64 644 a.pdf\r\n', true],
    ['=ybegin', 'identity', 'x\r\n=ybegin line=128 size=10 name=a.pdf\r\n', true],
    ['begin in base64', 'base64', b64('hello\r\nbegin 644 invoice.pdf\r\nM\r\n'), true],
    ['begin in quoted-printable with =XX', 'quoted-printable', 'x\r\n=62egin 644 a.pdf\r\n', true],
    ['begin across a quoted-printable soft break', 'quoted-printable', 'x\r\nbeg=\r\nin 644 a.pdf\r\n', true],
    ['begin without a name', 'identity', 'begin 644 \r\n', false],
    ['begin with a mode that is not octal', 'identity', 'begin 899 a\r\n', false],
    ['begin in the middle of a line', 'identity', 'we begin 644 a\r\n', false],
    ['ordinary text', 'identity', 'Dear customer,\r\nbeginning now\r\n', false],
    ['ordinary base64 text', 'base64', b64('Dear customer,\r\nthanks\r\n'), false],
  ])('%s: %s', (_label, encoding, body, found) => {
    for (const size of [1, 2, 5, 1000]) expect([size, probe(encoding, body, size)]).toEqual([size, found]);
  });
});
