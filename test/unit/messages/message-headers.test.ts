import {
  addMissingHeaders,
  findHeaderSection,
  formatRfc5322Date,
  hasHeader,
  messageIdFor,
} from '../../../src/messages/message-headers';

const DATE = new Date(Date.UTC(2024, 2, 5, 14, 3, 7));
const FIELDS = { messageId: '<q1.abc@example.com>', date: DATE };
const add = (s: string) => addMissingHeaders(Buffer.from(s, 'latin1'), FIELDS).toString('latin1');

describe('formatRfc5322Date', () => {
  it.each([
    [new Date(Date.UTC(2024, 2, 5, 14, 3, 7)), 'Tue, 05 Mar 2024 14:03:07 +0000'],
    [new Date(Date.UTC(1999, 11, 31, 23, 59, 59)), 'Fri, 31 Dec 1999 23:59:59 +0000'],
    [new Date(Date.UTC(2025, 0, 1, 0, 0, 0)), 'Wed, 01 Jan 2025 00:00:00 +0000'],
  ])('formats %s as RFC 5322 §3.3 date-time', (date, expected) => {
    expect(formatRfc5322Date(date)).toBe(expected);
    // RFC 5322 date-time grammar: [day-of-week ","] day month year time zone
    expect(expected).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
  });
});

describe('messageIdFor', () => {
  it('is <queueId.random@domain>', () => {
    expect(messageIdFor('q1', 'example.com', 'abc')).toBe('<q1.abc@example.com>');
  });
});

describe('addMissingHeaders', () => {
  it.each([
    [
      'CRLF, both missing',
      'From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n',
      'From: a@example.com\r\nSubject: hi\r\nMessage-ID: <q1.abc@example.com>\r\nDate: Tue, 05 Mar 2024 14:03:07 +0000\r\n\r\nbody\r\n',
    ],
    [
      'LF, both missing',
      'From: a@example.com\nSubject: hi\n\nbody\n',
      'From: a@example.com\nSubject: hi\nMessage-ID: <q1.abc@example.com>\nDate: Tue, 05 Mar 2024 14:03:07 +0000\n\nbody\n',
    ],
    [
      'Date present (any case), Message-ID missing',
      'DATE: Mon, 04 Mar 2024 10:00:00 +0100\r\nFrom: a@example.com\r\n\r\nx',
      'DATE: Mon, 04 Mar 2024 10:00:00 +0100\r\nFrom: a@example.com\r\nMessage-ID: <q1.abc@example.com>\r\n\r\nx',
    ],
    [
      'Message-ID present with a space before the colon',
      'Message-Id : <orig@example.com>\r\nFrom: a@example.com\r\n\r\nx',
      'Message-Id : <orig@example.com>\r\nFrom: a@example.com\r\nDate: Tue, 05 Mar 2024 14:03:07 +0000\r\n\r\nx',
    ],
    [
      'a folded line mentioning Date: is a continuation, not a Date field',
      'Subject: hello\r\n Date: not a field\r\n\r\nx',
      'Subject: hello\r\n Date: not a field\r\nMessage-ID: <q1.abc@example.com>\r\nDate: Tue, 05 Mar 2024 14:03:07 +0000\r\n\r\nx',
    ],
    [
      'no body separator at all',
      'Subject: hello',
      'Subject: hello\r\nMessage-ID: <q1.abc@example.com>\r\nDate: Tue, 05 Mar 2024 14:03:07 +0000\r\n',
    ],
    [
      'CRLF header line followed by an LF empty line',
      'Subject: hi\r\n\nbody',
      'Subject: hi\r\nMessage-ID: <q1.abc@example.com>\r\nDate: Tue, 05 Mar 2024 14:03:07 +0000\r\n\nbody',
    ],
  ])('%s', (_name, input, expected) => {
    expect(add(input)).toBe(expected);
  });

  it('returns the very same buffer when nothing is missing', () => {
    const raw = Buffer.from('Date: Mon, 04 Mar 2024 10:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody');
    expect(addMissingHeaders(raw, FIELDS)).toBe(raw);
  });

  it('never touches the body, even when the body has header-like lines and 8-bit bytes', () => {
    const body = Buffer.concat([Buffer.from('Date: in the body\r\nMessage-ID: <body@x>\r\n\r\n'), Buffer.from([0xc3, 0xa9, 0xff, 0x00, 0x0d, 0x0a])]);
    const raw = Buffer.concat([Buffer.from('From: a@example.com\r\n\r\n'), body]);
    const out = addMissingHeaders(raw, FIELDS);
    expect(out.subarray(out.length - body.length).equals(body)).toBe(true);
    expect(out.toString('latin1')).toContain('\r\nMessage-ID: <q1.abc@example.com>\r\nDate: Tue, 05 Mar 2024 14:03:07 +0000\r\n\r\nDate: in the body');
  });

  it('keeps 8-bit header bytes as they were', () => {
    const raw = Buffer.concat([Buffer.from('Subject: '), Buffer.from('héllo', 'utf8'), Buffer.from('\r\n\r\nx')]);
    const out = addMissingHeaders(raw, FIELDS);
    expect(out.subarray(0, raw.length - 3).equals(raw.subarray(0, raw.length - 3))).toBe(true);
    expect(out.toString('utf8')).toContain('Subject: héllo\r\n');
  });
});

describe('findHeaderSection / hasHeader', () => {
  it('treats a message that starts with an empty line as having no header section', () => {
    expect(findHeaderSection(Buffer.from('\r\nbody'))).toMatchObject({ insertAt: 0, text: '' });
    expect(add('\nbody')).toBe('Message-ID: <q1.abc@example.com>\nDate: Tue, 05 Mar 2024 14:03:07 +0000\n\nbody');
  });

  it('matches field names exactly, not prefixes', () => {
    expect(hasHeader('Dates: x', 'date')).toBe(false);
    expect(hasHeader('X-Date: x', 'date')).toBe(false);
    expect(hasHeader('x\r\ndate:y', 'date')).toBe(true);
  });
});
