import { createTransport } from 'nodemailer';
import type { DeliveryTransport } from './delivery-transport';
import { outcomeOf, sameForAll, type RecipientResult } from './mx-transaction';
import { formatReply, parseReply, type SmtpReply } from './smtp-reply';

export interface SmarthostOptions {
  /** smtp:// (STARTTLS) or smtps:// (implicit TLS), with optional user:pass@. */
  url: string;
  /**
   * For smtp://: true refuses to send over a connection that STARTTLS did not encrypt
   * (SMARTHOST_TLS=required, the default); false sends in the clear when the smarthost
   * offers no STARTTLS (SMARTHOST_TLS=optional).
   */
  requireTls: boolean;
  /** False only for a test sink with a self-signed certificate (SMARTHOST_TLS_REJECT_UNAUTHORIZED). */
  rejectUnauthorized: boolean;
}

/** A reply code from the start of an SMTP reply, e.g. 250 from "250 2.0.0 Ok". */
export function replyCode(response: string | undefined): number | null {
  const m = /^(\d{3})[\s-]/.exec(response ?? '');
  return m ? Number(m[1]) : null;
}

/** A nodemailer SMTP error: `code` is its class, `responseCode` the server's reply, if any. */
interface SmtpError {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  message: string;
  /** One error per refused recipient (RCPT TO), when nodemailer refused the envelope for them all. */
  rejectedErrors?: Array<SmtpError & { recipient?: string }>;
}

/**
 * Whether a send failure is permanent. A 5xx reply to the envelope or the data is; so is
 * an envelope nodemailer refuses before sending. Our own trouble with the smarthost
 * (authentication, TLS, protocol, connection, timeouts) and every 4xx is temporary.
 */
export function classifySendError(err: unknown): { permanent: boolean; code: number | null; response: string } {
  const e = err as SmtpError;
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  const response = (e.response ?? e.message ?? String(err)).slice(0, 1000);
  const aboutTheMessage = e.code === 'EENVELOPE' || e.code === 'EMESSAGE';
  const permanent = aboutTheMessage && (code !== null ? code >= 500 : e.command === 'API');
  if (e.code === 'ETLS') {
    // The smarthost's own reply (often a bare "502 command not implemented") does not say why we stopped.
    const detail = e.response && !e.message.includes(e.response) ? `${e.message}: ${e.response}` : e.message;
    return { permanent, code, response: `STARTTLS with the smarthost failed: ${detail}`.slice(0, 1000) };
  }
  return { permanent, code, response };
}

/** A reply nodemailer handed over; when the text does not parse, its code with the text as message. */
function replyOf(response: string | undefined, code: number | null): SmtpReply | null {
  return parseReply(response) ?? (code !== null ? { code, enhanced: null, message: String(response ?? '').slice(0, 1000) } : null);
}

/** Each recipient's result from RCPT TO refusals: a 5xx bounces that recipient, anything else defers it. */
function refusedRecipients(errors: NonNullable<SmtpError['rejectedErrors']>, remoteHost: string): Map<string, RecipientResult> {
  const out = new Map<string, RecipientResult>();
  for (const e of errors) {
    if (!e.recipient) continue;
    const code = typeof e.responseCode === 'number' ? e.responseCode : null;
    const reply = replyOf(e.response, code);
    const outcome = code !== null ? outcomeOf(code) : 'deferred';
    out.set(e.recipient, { address: e.recipient, outcome, reply, remoteHost, reason: reply ? formatReply(reply) : e.message });
  }
  return out;
}

/**
 * Per-recipient results of a smarthost send that threw: recipients refused one by one at
 * RCPT TO keep their own reply; otherwise a 5xx for the whole message (MAIL FROM, DATA)
 * bounces all, and 4xx, connection, TLS and authentication trouble defer all.
 */
export function smarthostFailure(err: unknown, recipients: string[], remoteHost: string): RecipientResult[] {
  const e = err as SmtpError;
  if (e?.code === 'EENVELOPE' && e.rejectedErrors?.length) {
    const byAddress = refusedRecipients(e.rejectedErrors, remoteHost);
    return recipients.map((a) => byAddress.get(a) ?? sameForAll([a], 'deferred', e.message, null, remoteHost)[0]);
  }
  const c = classifySendError(err);
  const reply = replyOf(e?.response, c.code);
  return sameForAll(recipients, c.permanent ? 'bounced' : 'deferred', c.response, reply, reply ? remoteHost : null);
}

/**
 * The smarthost mode's transport: one nodemailer pool (5 connections) for the process.
 * smtp:// upgrades with STARTTLS (required unless `requireTls` is false, then whenever
 * the smarthost offers it); smtps:// is TLS from the start. The smarthost's reply to the
 * message is every accepted recipient's; a recipient it refused at RCPT TO has its own.
 */
export function createSmarthostTransport(options: SmarthostOptions): DeliveryTransport {
  const pool = createTransport({
    url: options.url,
    pool: true,
    maxConnections: 5,
    tls: { rejectUnauthorized: options.rejectUnauthorized },
    requireTLS: options.requireTls && options.url.startsWith('smtp://'),
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  });
  const remoteHost = new URL(options.url).host;
  return {
    async deliver(msg) {
      let info: { response: string; accepted: unknown[]; rejected: unknown[]; rejectedErrors?: SmtpError['rejectedErrors'] };
      try {
        info = await pool.sendMail({ envelope: { from: msg.from, to: msg.recipients }, raw: msg.raw });
      } catch (err) {
        return smarthostFailure(err, msg.recipients, remoteHost);
      }
      const refused = refusedRecipients(info.rejectedErrors ?? [], remoteHost);
      const reply = replyOf(info.response, replyCode(info.response));
      return msg.recipients.map(
        (address) => refused.get(address) ?? { address, outcome: 'delivered' as const, reply, remoteHost, reason: reply ? formatReply(reply) : info.response },
      );
    },
    close() {
      pool.close();
    },
  };
}
