/**
 * Reports as receiving MTAs send them to a return path: a DSN (RFC 3464, as Postfix writes
 * one) and an ARF feedback report (RFC 5965, as a mailbox provider's feedback loop does).
 */

/** A multipart/report DSN about `recipient`, sent to `to` (the VERP address), with action and status. */
export function dsnReport(o: { to: string; recipient: string; action?: string; status?: string; diagnostic?: string }): string {
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
    'Content-Type: message/delivery-status',
    '',
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
export function arfReport(o: { to: string; recipient: string; feedbackType: string; originalMailFrom?: string }): string {
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
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${o.feedbackType}`,
    'User-Agent: SomeGenerator/1.0',
    'Version: 1',
    ...(o.originalMailFrom ? [`Original-Mail-From: <${o.originalMailFrom}>`] : []),
    `Original-Rcpt-To: <${o.recipient}>`,
    'Source-IP: 192.0.2.1',
    '',
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
