import { parseReport } from '../../../src/bounces/report-parser';
import { VerpAddresses } from '../../../src/messages/verp';
import { arfReport, dsnReport } from '../../support/feedback-reports';

describe('parseReport (RFC 3464 DSN, RFC 5965 ARF, through mailsplit)', () => {
  it('reads the per-recipient block of a DSN: recipient, action, status, diagnostic and remote MTA', async () => {
    const r = await parseReport(Buffer.from(dsnReport({ to: 'b-x@bounce.example.com', recipient: 'Gone@Dest.example' })));
    expect(r).toEqual({
      kind: 'dsn',
      recipients: [
        {
          finalRecipient: 'gone@dest.example',
          action: 'failed',
          status: '5.1.1',
          diagnostic: '550 5.1.1 <Gone@Dest.example>: Recipient address rejected: User unknown',
          remoteMta: 'mx.dest.example',
        },
      ],
    });
  });

  it.each([
    ['delayed', '4.4.1'],
    ['failed', '5.7.1'],
  ])('keeps the action and status as given (%s %s)', async (action, status) => {
    const r = await parseReport(Buffer.from(dsnReport({ to: 'x@y.example', recipient: 'a@dest.example', action, status, diagnostic: 'smtp; 450 try later' })));
    expect(r.kind === 'dsn' && r.recipients[0]).toMatchObject({ action, status });
  });

  it('reads an ARF report: feedback type, user agent and the original envelope', async () => {
    const r = await parseReport(Buffer.from(arfReport({ to: 'fbl@example.com', recipient: 'a@dest.example', feedbackType: 'Abuse', originalMailFrom: 'b-abc@bounce.example.com' })));
    expect(r).toEqual({ kind: 'arf', feedbackType: 'abuse', userAgent: 'SomeGenerator/1.0', originalMailFrom: 'b-abc@bounce.example.com', originalRcptTo: 'a@dest.example' });
  });

  it.each(['quoted-printable', 'base64'] as const)('undoes a %s report part as mailsplit decodes it: the same DSN and ARF as in 7bit', async (encoding) => {
    // Long enough to be soft-wrapped in quoted-printable, with `=` signs that become =3D.
    const diagnostic = 'smtp; 550 5.1.1 <gone@dest.example>: Recipient address rejected: User unknown in virtual mailbox table (see https://help.dest.example/?code=550&id=a1b2)';
    const dsn = { to: 'b-x@bounce.example.com', recipient: 'gone@dest.example', diagnostic };
    const encodedDsn = dsnReport({ ...dsn, encoding });
    if (encoding === 'quoted-printable') {
      expect(encodedDsn).toContain('code=3D550');
      expect(encodedDsn).toContain('=\r\n');
    }
    const plain = await parseReport(Buffer.from(dsnReport(dsn)));
    expect(plain).toMatchObject({ kind: 'dsn', recipients: [{ finalRecipient: 'gone@dest.example', status: '5.1.1', diagnostic: diagnostic.slice('smtp; '.length) }] });
    expect(await parseReport(Buffer.from(encodedDsn))).toEqual(plain);

    const arf = { to: 'fbl@example.com', recipient: 'a@dest.example', feedbackType: 'abuse', originalMailFrom: 'b-abc@bounce.example.com' };
    const encodedArf = await parseReport(Buffer.from(arfReport({ ...arf, encoding })));
    expect(encodedArf).toEqual(await parseReport(Buffer.from(arfReport(arf))));
    expect(encodedArf).toMatchObject({ kind: 'arf', feedbackType: 'abuse', originalMailFrom: 'b-abc@bounce.example.com' });
  });

  it('calls a plain message `other`', async () => {
    expect(await parseReport(Buffer.from('From: a@b.example\r\nSubject: out of office\r\n\r\nI am away.\r\n'))).toEqual({ kind: 'other', contentType: 'text/plain' });
  });
});

describe('VerpAddresses', () => {
  const verp = new VerpAddresses(Buffer.alloc(32, 7));

  it('makes a lowercase local part of at most 64 characters that names the message and recipient', () => {
    const a = verp.address('bcdfghjklmnp', 3, 'Someone@Dest.example', 'bounce.example.com')!;
    const local = a.slice(0, a.indexOf('@'));
    expect(a.endsWith('@bounce.example.com')).toBe(true);
    expect(local).toMatch(/^b-[0-9a-z-]+$/);
    expect(local.length).toBeLessThanOrEqual(64);
    const token = verp.parse(local.toUpperCase())!;
    expect(token).toMatchObject({ queueId: 'bcdfghjklmnp', index: 3 });
    expect(verp.verify(token, 'someone@dest.example')).toBe(true);
  });

  it('refuses a token for another recipient, another index, or under another secret', () => {
    const local = verp.address('bcdfghjklmnp', 0, 'a@dest.example', 'b.example.com')!.split('@')[0];
    const token = verp.parse(local)!;
    expect(verp.verify(token, 'b@dest.example')).toBe(false);
    expect(verp.verify({ ...token, index: 1 }, 'a@dest.example')).toBe(false);
    expect(new VerpAddresses(Buffer.alloc(32, 8)).verify(token, 'a@dest.example')).toBe(false);
    expect(verp.parse('someone')).toBeNull();
  });

  it('gives no address for a queue id a token cannot carry', () => {
    expect(verp.address('Not_A-Relay.Id', 0, 'a@dest.example', 'b.example.com')).toBeNull();
  });
});
