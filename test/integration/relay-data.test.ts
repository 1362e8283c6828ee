import request from 'supertest';
import type { RunningRelay } from '../../src/relay/relay.server';
import { createAccount, registerDomain } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpTestClient } from '../support/smtp-client';

/**
 * The DATA path over real STARTTLS+AUTH sessions: the bytes the client sent are the
 * bytes that are checked and spooled (no bare CR or LF, one From:, bounded lines and
 * header section), a huge message costs neither memory nor other sessions' replies,
 * and only plain text or HTML bodies get through (DESIGN §5).
 */

const FROM = 'app@sender.example.com';
const MIB = 1024 * 1024;

interface Relay {
  c: TestContainer;
  relay: RunningRelay;
  domainId: string;
  username: string;
  password: string;
}

async function startRelay(maxMessageBytes: number): Promise<Relay> {
  const c = await createTestContainer({ SMTP_PORT: '0', SMTP_HOST: '127.0.0.1', SMTP_MAX_MESSAGE_BYTES: String(maxMessageBytes) });
  const relay = await c.start('relay');
  const acct = await createAccount(c.http);
  const domain = await registerDomain(c.http, acct, 'sender.example.com', 'ed25519');
  await request(c.http).put(`/v1/domains/${domain.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['127.0.0.1/32'] }).expect(200);
  const user = await request(c.http).post(`/v1/domains/${domain.id}/smtp-users`).set(acct.auth).send({}).expect(201);
  await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved' }, $inc: { version: 1 } });
  await c.redis.publish(`${c.config.queuePrefix}:policy-invalidate`, JSON.stringify({ domainId: domain.id }));
  const r = { c, relay, domainId: domain.id, username: user.body.username, password: user.body.password };
  // The allowlist and the policy travel over pub/sub: wait until a message goes through.
  for (let i = 0; ; i++) {
    const client = await connect(r).catch(() => null);
    const reply = client && (await client.send(FROM, ['r@dest.example'], message()));
    await client?.quit();
    if (reply?.code === 250) return r;
    if (i > 100) throw new Error(`relay never accepted a message (last reply: ${reply?.raw ?? 'no connection'})`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function connect(r: Relay): Promise<SmtpTestClient> {
  const { client, greeting } = await SmtpTestClient.connect(r.relay.port);
  if (greeting.code !== 220) throw new Error(greeting.raw);
  const auth = await client.login(r.username, r.password);
  if (auth.code !== 235) throw new Error(auth.raw);
  return client;
}

/** MAIL, RCPT and DATA, then `bytes` exactly as given (they end with the final dot). */
async function sendRaw(client: SmtpTestClient, bytes: string | Buffer | Iterable<Buffer | string> | AsyncIterable<Buffer | string>) {
  expect((await client.command(`MAIL FROM:<${FROM}>`)).code).toBe(250);
  expect((await client.command('RCPT TO:<r@dest.example>')).code).toBe(250);
  expect((await client.command('DATA')).code).toBe(354);
  return client.raw(typeof bytes === 'string' || Buffer.isBuffer(bytes) ? [bytes] : bytes);
}

/** A CRLF message: header lines, an empty line, body lines. */
function message(headers: string[] = [], body: string[] = ['Hello there.']): string {
  return [`From: Sender <${FROM}>`, 'To: r@dest.example', 'Subject: hello', ...headers, '', ...body, ''].join('\r\n');
}

const spooled = (r: Relay) => r.c.mongo.collection('messages').countDocuments({ domainId: r.domainId });

describe('relay DATA over STARTTLS+AUTH (SMTP_MAX_MESSAGE_BYTES 60 MiB)', () => {
  let r: Relay;
  let client: SmtpTestClient;

  beforeAll(async () => {
    r = await startRelay(60 * MIB);
  });
  afterAll(async () => {
    await r.relay.close();
    await r.c.dispose();
  });
  beforeEach(async () => {
    client = await connect(r);
  });
  afterEach(async () => {
    await client.quit();
  });

  it('refuses a bare CR that hides a second From: header (Subject: hi\\rFrom: ceo@victim.example)', async () => {
    const before = await spooled(r);
    const exploit = [`From: Sender <${FROM}>`, 'To: r@dest.example', 'Subject: hi\rFrom: ceo@victim.example', '', 'Wire the money.', ''].join('\r\n');
    expect((await sendRaw(client, exploit + '.\r\n')).raw).toBe('554 5.6.0 Bare CR or LF not allowed');
    expect(await spooled(r)).toBe(before);
    // The session stays usable.
    expect((await sendRaw(client, message() + '.\r\n')).code).toBe(250);
  });

  it('refuses a bare CR that hides a multipart/mixed Content-Type with a PDF', async () => {
    const exploit = [
      `From: ${FROM}`,
      'To: r@dest.example',
      'Subject: x\rContent-Type: multipart/mixed; boundary=zz',
      'MIME-Version: 1.0',
      '',
      '--zz',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--zz',
      'Content-Type: application/pdf',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK',
      '--zz--',
      '',
    ].join('\r\n');
    expect((await sendRaw(client, exploit + '.\r\n')).raw).toBe('554 5.6.0 Bare CR or LF not allowed');
  });

  it.each([
    ['a bare LF in the header', `From: ${FROM}\nTo: r@dest.example\r\nSubject: s\r\n\r\nbody\r\n`],
    ['a bare LF in the body', `From: ${FROM}\r\nSubject: s\r\n\r\nline one\nline two\r\n`],
    ['a bare CR in the body', `From: ${FROM}\r\nSubject: s\r\n\r\nline one\rline two\r\n`],
    ['CR CR LF', `From: ${FROM}\r\nSubject: s\r\n\r\nline one\r\r\n`],
  ])('refuses %s: 554 5.6.0 Bare CR or LF not allowed', async (_label, bytes) => {
    expect((await sendRaw(client, bytes + '.\r\n')).raw).toBe('554 5.6.0 Bare CR or LF not allowed');
  });

  it('refuses more than one From: header, however it is spelled: 554 5.6.0 Multiple From headers', async () => {
    expect((await sendRaw(client, message([`From: ${FROM}`]) + '.\r\n')).raw).toBe('554 5.6.0 Multiple From headers');
    // Whitespace before the colon (RFC 5322 obsolete syntax), first line of the header.
    const first = [`From : ceo@victim.example`, `From: ${FROM}`, 'Subject: s', '', 'body', ''].join('\r\n');
    expect((await sendRaw(client, first + '.\r\n')).raw).toBe('554 5.6.0 Multiple From headers');
    const lower = [`from: ${FROM}`, `FROM: ${FROM}`, 'Subject: s', '', 'body', ''].join('\r\n');
    expect((await sendRaw(client, lower + '.\r\n')).raw).toBe('554 5.6.0 Multiple From headers');
  });

  it('spools exactly the bytes the client sent (dot-stuffing undone), up to a 998-byte line', async () => {
    const body = ['.leading dot', 'x'.repeat(998), '..two dots'];
    const sent = message(['MIME-Version: 1.0'], body);
    const stuffed = sent.replace(/^\./gm, '..');
    const reply = await sendRaw(client, stuffed + '.\r\n');
    expect(reply.code).toBe(250);
    const stored = await r.c.mongo.collection('messages').findOne({ _id: reply.text.split(' ').pop() } as never);
    expect(Buffer.from(stored!.raw.buffer).equals(Buffer.from(sent))).toBe(true);
  });

  it('refuses a line of 999 bytes: 554 5.6.0 Line too long', async () => {
    expect((await sendRaw(client, message([], ['short', 'y'.repeat(999), 'short']) + '.\r\n')).raw).toBe('554 5.6.0 Line too long');
    expect((await sendRaw(client, message([`X-Long: ${'h'.repeat(1000)}`]) + '.\r\n')).raw).toBe('554 5.6.0 Line too long');
  });

  it('refuses a header section over 64 KiB: 554 5.6.0 Header section too long', async () => {
    const headers = Array.from({ length: 800 }, (_, i) => `X-Filler-${i}: ${'h'.repeat(80)}`);
    expect((await sendRaw(client, message(headers) + '.\r\n')).raw).toBe('554 5.6.0 Header section too long');
    // The same bytes in the body are fine.
    expect((await sendRaw(client, message([], headers) + '.\r\n')).code).toBe(250);
  });

  it('refuses a 50 MiB single-line message with 554 5.6.0 Line too long while another session is answered', async () => {
    const line = Buffer.alloc(MIB, 'z');
    let other: { greeting: number; ehlo: number } | undefined;
    async function* bigMessage() {
      yield `From: ${FROM}\r\nSubject: big\r\n\r\n`;
      for (let i = 0; i < 50; i++) {
        if (i === 25) {
          // Halfway through the line, a second session connects and says EHLO.
          const { client: second, greeting } = await SmtpTestClient.connect(r.relay.port);
          other = { greeting: greeting.code, ehlo: (await second.ehlo()).code };
          await second.quit();
        }
        yield line;
      }
      yield '\r\n.\r\n';
    }
    expect((await sendRaw(client, bigMessage())).raw).toBe('554 5.6.0 Line too long');
    expect(other).toEqual({ greeting: 220, ehlo: 250 });
    // The session is still in step: the next message goes through.
    expect((await sendRaw(client, message() + '.\r\n')).code).toBe(250);
  });

  describe('attachments: 554 5.6.1 Attachments are not supported', () => {
    const refused: [string, string[], string[]][] = [
      ['a text part with Content-Disposition: attachment', ['Content-Disposition: attachment'], ['notes']],
      ['a text part with a name= parameter', ['Content-Type: text/plain; name="invoice.pdf"'], ['%PDF-1.4']],
      ['an inline text part with an RFC 2231 filename*=', ['Content-Type: text/plain', "Content-Disposition: inline; filename*=utf-8''invoice.pdf"], ['%PDF-1.4']],
      ['a uuencoded file in a text body', [], ['Please find it below.', 'begin 644 invoice.pdf', 'M)5!$1BTQ+C0*', '`', 'end']],
      [
        'a uuencoded file in a base64 text body',
        ['Content-Transfer-Encoding: base64'],
        [Buffer.from('Hi\r\nbegin 644 invoice.pdf\r\nM)5!$1BTQ+C0*\r\n`\r\nend\r\n').toString('base64')],
      ],
      ['a uuencoded file split by quoted-printable soft breaks', ['Content-Transfer-Encoding: quoted-printable'], ['Hi', 'beg=', 'in 644 invoice.pdf', 'end']],
      ['application/ms-tnef (winmail.dat) without a file name', ['Content-Type: application/ms-tnef'], ['eJ8+IgAA']],
      ['a multipart without a boundary', ['MIME-Version: 1.0', 'Content-Type: multipart/mixed'], ['--zz', 'Content-Type: text/plain', '', 'hi', '--zz--']],
      ...(
        [
          ['message/rfc822', 'mixed', ['Content-Type: message/rfc822', '', `From: ${FROM}`, 'Subject: inner', '', 'inner body']],
          ['multipart/digest', 'digest', ['', `From: ${FROM}`, 'Subject: inner', '', 'inner body']],
          ['a delimiter with trailing blanks that hides a PDF part', 'mixed', ['Content-Type: text/plain', '', 'see attached', '--b1 ', 'Content-Type: application/pdf; name="x.pdf"', '', 'JVBERi0xLjQK']],
        ] as [string, string, string[]][]
      ).map(([label, subtype, part]): [string, string[], string[]] => [
        label,
        ['MIME-Version: 1.0', `Content-Type: multipart/${subtype}; boundary="b1"`],
        ['--b1', ...part, '--b1--'],
      ]),
      [
        'an outer boundary inside an inner part',
        ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="outer"'],
        [
          '--outer',
          'Content-Type: multipart/alternative; boundary="inner"',
          '',
          '--inner',
          'Content-Type: text/plain',
          '',
          'text',
          '--outer',
          'Content-Type: application/pdf; name="x.pdf"',
          '',
          'JVBERi0xLjQK',
          '--inner--',
          '--outer--',
        ],
      ],
    ];

    it.each(refused)('refuses %s', async (_label, headers, body) => {
      const before = await spooled(r);
      expect((await sendRaw(client, message(headers, body) + '.\r\n')).raw).toBe('554 5.6.1 Attachments are not supported');
      expect(await spooled(r)).toBe(before);
    });

    const accepted: [string, string[], string[]][] = [
      [
        'multipart/mixed of text parts without file names',
        ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="m"'],
        ['--m', 'Content-Type: text/plain; charset=utf-8', '', 'first', '--m', 'Content-Type: text/html', 'Content-Disposition: inline', '', '<p>second</p>', '--m--'],
      ],
      [
        'multipart/mixed holding multipart/alternative and a text footer',
        ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="m"'],
        [
          'This is a multi-part message in MIME format.',
          '--m',
          'Content-Type: multipart/alternative; boundary="a"',
          '',
          '--a',
          'Content-Type: text/plain',
          '',
          'plain',
          '--a',
          'Content-Type: text/html',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          '<p>html =E2=9C=93</p>',
          '--a--',
          '--m',
          'Content-Type: text/plain',
          '',
          '-- ',
          'footer',
          '--m--',
        ],
      ],
      [
        'multipart/related with HTML only',
        ['MIME-Version: 1.0', 'Content-Type: multipart/related; boundary="r"'],
        ['--r', 'Content-Type: text/html', '', '<p>begin 644 is just text in HTML here</p>', '--r--'],
      ],
      ['text that merely mentions begin', [], ['begin the day', 'beginning 644 steps', '  begin 644 indented']],
    ];

    it.each(accepted)('accepts %s', async (_label, headers, body) => {
      expect((await sendRaw(client, message(headers, body) + '.\r\n')).code).toBe(250);
    });
  });
});

describe('relay DATA: SMTP_MAX_MESSAGE_BYTES', () => {
  let r: Relay;

  beforeAll(async () => {
    r = await startRelay(64 * 1024);
  });
  afterAll(async () => {
    await r.relay.close();
    await r.c.dispose();
  });

  it('answers 552 5.3.4 Message too big to 8 MiB without a line break, and the session stays in step', async () => {
    const client = await connect(r);
    const chunk = Buffer.alloc(MIB, 'q');
    async function* big() {
      yield `From: ${FROM}\r\nSubject: big\r\n\r\n`;
      for (let i = 0; i < 8; i++) yield chunk;
      yield '\r\n.\r\n';
    }
    expect((await sendRaw(client, big())).raw).toBe('552 5.3.4 Message too big');
    expect((await sendRaw(client, message() + '.\r\n')).code).toBe(250);
    await client.quit();
  });
});
