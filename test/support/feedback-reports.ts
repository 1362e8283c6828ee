/**
 * Reports as receiving MTAs send them to a return path: a DSN (RFC 3464, as Postfix writes
 * one) and an ARF feedback report (RFC 5965, as a mailbox provider's feedback loop does).
 * Either machine-readable part may come quoted-printable or base64, as Exchange and some
 * feedback loops send it (encoded with nodemailer's encoders, not the parser's libqp).
 */
import { encode as base64, wrap as wrapBase64 } from 'nodemailer/lib/base64';
import { encode as qp, wrap as wrapQp } from 'nodemailer/lib/qp';

export type ReportEncoding = '7bit' | 'quoted-printable' | 'base64';

/** The header line and the body of a report part in `encoding`. */
function encodedPart(contentType: string, lines: string[], encoding: ReportEncoding = '7bit'): string[] {
  const body = lines.join('\r\n');
  if (encoding === '7bit') return [`Content-Type: ${contentType}`, '', ...lines];
  const encoded = encoding === 'base64' ? wrapBase64(base64(Buffer.from(body, 'utf8')), 76) : wrapQp(qp(body), 76);
  return [`Content-Type: ${contentType}`, `Content-Transfer-Encoding: ${encoding}`, '', encoded];
}

/** A multipart/report DSN about `recipient`, sent to `to` (the VERP address), with action and status. */
export function dsnReport(o: { to: string; recipient: string; action?: string; status?: string; diagnostic?: string; encoding?: ReportEncoding }): string {
  const action = o.action ?? 'failed';
  const status = o.status ?? '5.1.1';
  const diagnostic = o.diagnostic ?? `smtp; 550 ${status} <${o.recipient}>: Recipient address rejected: User unknown`;
  return [
    'From: MAILER-DAEMON@mx.dest.example (Mail Delivery System)',
    `To: ${o.to}`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY-1"',
    '',
    '--BOUNDARY-1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'I am sorry to have to inform you that your message could not be delivered.',
    '',
    '--BOUNDARY-1',
    ...encodedPart(
      'message/delivery-status',
      [
        'Reporting-MTA: dns; mx.dest.example',
        'Arrival-Date: Thu, 26 Nov 2026 00:00:00 +0000',
        '',
        `Final-Recipient: rfc822; ${o.recipient}`,
        `Original-Recipient: rfc822;${o.recipient}`,
        `Action: ${action}`,
        `Status: ${status}`,
        'Remote-MTA: dns; mx.dest.example',
        `Diagnostic-Code: ${diagnostic}`,
        '',
      ],
      o.encoding,
    ),
    '--BOUNDARY-1',
    'Content-Type: text/rfc822-headers',
    '',
    'From: App <app@example.test>',
    'Subject: hello',
    '',
    '--BOUNDARY-1--',
    '',
  ].join('\r\n');
}

/** A multipart/report ARF report of `feedbackType` (abuse, not-spam, …) about mail to `recipient`. */
export function arfReport(o: { to: string; recipient: string; feedbackType: string; originalMailFrom?: string; encoding?: ReportEncoding }): string {
  return [
    'From: fbl@isp.example',
    `To: ${o.to}`,
    'Subject: FW: complaint',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF-1"',
    '',
    '--ARF-1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is an email abuse report for an email message received from IP 192.0.2.1.',
    '',
    '--ARF-1',
    ...encodedPart(
      'message/feedback-report',
      [
        `Feedback-Type: ${o.feedbackType}`,
        'User-Agent: SomeGenerator/1.0',
        'Version: 1',
        ...(o.originalMailFrom ? [`Original-Mail-From: <${o.originalMailFrom}>`] : []),
        `Original-Rcpt-To: <${o.recipient}>`,
        'Source-IP: 192.0.2.1',
        '',
      ],
      o.encoding,
    ),
    '--ARF-1',
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    'From: App <app@example.test>',
    `To: ${o.recipient}`,
    'Subject: hello',
    '',
    'Hello there.',
    '',
    '--ARF-1--',
    '',
  ].join('\r\n');
}
