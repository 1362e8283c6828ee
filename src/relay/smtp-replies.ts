import { AppError } from '../errors';
import type { MessageDefect } from './message-inspector';

/** A refusal with its exact SMTP reply (DESIGN §5). */
export class SmtpRejection extends AppError {
  constructor(
    readonly smtpCode: number,
    readonly text: string,
  ) {
    super('smtp_rejected', smtpCode >= 500 ? 403 : 503, text);
  }
}

/** The DESIGN §5 table. */
export const REPLIES = {
  accessDenied: () => new SmtpRejection(554, '5.7.1 Access denied'),
  authFailed: () => new SmtpRejection(535, '5.7.8 Authentication failed'),
  senderNotPermitted: () => new SmtpRejection(553, '5.7.1 Sender address not permitted'),
  sendingSuspended: (domain: string, reason: string) => new SmtpRejection(550, `5.7.1 Sending suspended for ${domain}: ${reason}`),
  temporaryFailure: () => new SmtpRejection(451, '4.3.0 Temporary failure, try again later'),
  attachments: () => new SmtpRejection(554, '5.6.1 Attachments are not supported'),
  tooBig: () => new SmtpRejection(552, '5.3.4 Message too big'),
  fromNotPermitted: () => new SmtpRejection(553, '5.7.1 From header not permitted'),
  bareNewline: () => new SmtpRejection(554, '5.6.0 Bare CR or LF not allowed'),
  multipleFrom: () => new SmtpRejection(554, '5.6.0 Multiple From headers'),
  lineTooLong: () => new SmtpRejection(554, '5.6.0 Line too long'),
  headerTooLong: () => new SmtpRejection(554, '5.6.0 Header section too long'),
  tooManyRecipients: (max: number) => new SmtpRejection(452, `4.5.3 Too many recipients (at most ${max})`),
  tooManyConnections: () => new SmtpRejection(421, '4.7.0 Too many connections from your address, try again later'),
  /** An authenticated session whose SMTP user was deleted or whose address is no longer allowed. */
  authorityWithdrawn: () => new SmtpRejection(421, '4.7.0 Authorization withdrawn, closing connection'),
  /** A PROXY header from an address outside SMTP_PROXY_PROTOCOL_FROM; 421 closes the connection. */
  proxyHeaderNotTrusted: () => new SmtpRejection(421, '4.7.0 PROXY header not accepted from this address'),
  recipientSuppressed: () => new SmtpRejection(550, '5.1.1 Recipient address is suppressed'),
  rateExceeded: () => new SmtpRejection(451, '4.7.1 Sending rate exceeded, try again later'),
  dailyQuotaExceeded: () => new SmtpRejection(452, '4.5.3 Daily sending quota exceeded'),
  /** The domain's return path is not verified and its fallback is `reject`. */
  returnPathNotVerified: (domain: string) => new SmtpRejection(451, `4.7.1 Return path not verified for ${domain}`),
  /** The bounce intake: RCPT TO an address that is not at a verified return-path subdomain. */
  notAReturnPath: () => new SmtpRejection(550, '5.1.1 Recipient address rejected: not a verified return path'),
  /** The bounce intake: RCPT TO a local part at a verified return path that is not a well-formed VERP token (nor postmaster). */
  notABounceAddress: () => new SmtpRejection(550, '5.1.1 Recipient address rejected: not a bounce address'),
  /** The bounce intake: the connection lasted longer than it may. */
  connectionTimeLimit: () => new SmtpRejection(421, '4.4.2 Connection time limit exceeded, closing connection'),
} as const;

/** The reply to a message the inspector refused. */
export function defectReply(defect: MessageDefect): SmtpRejection {
  switch (defect.kind) {
    case 'too-big':
      return REPLIES.tooBig();
    case 'bare-newline':
      return REPLIES.bareNewline();
    case 'line-too-long':
      return REPLIES.lineTooLong();
    case 'header-too-long':
      return REPLIES.headerTooLong();
    case 'multiple-from':
      return REPLIES.multipleFrom();
    case 'attachment':
      return REPLIES.attachments();
  }
}

/** An error as smtp-server sends it: `err.responseCode` and the reply text. */
export interface SmtpServerError extends Error {
  responseCode: number;
}

/**
 * The one mapping from errors to SMTP replies. Anything that is not a deliberate
 * refusal (a store or cache that cannot answer) fails closed with 451.
 */
export function toSmtpError(err: unknown): SmtpServerError {
  const rejection = err instanceof SmtpRejection ? err : REPLIES.temporaryFailure();
  const out = new Error(rejection.text) as SmtpServerError;
  out.responseCode = rejection.smtpCode;
  return out;
}
