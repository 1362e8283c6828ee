import { createTransport } from 'nodemailer';

/** What the next hop said about one message. */
export interface TransportResult {
  /** The final SMTP reply code, when the reply had one. */
  code: number | null;
  response: string;
  /** Recipients the next hop refused while it took the message for the others. */
  rejected: string[];
}

/** Sends a finished (signed) message to its next hop; one per delivery service. */
export interface MessageTransport {
  send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<TransportResult>;
  close(): void;
}

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

/**
 * The smarthost mode's transport: one nodemailer pool (5 connections) for the process.
 * smtp:// upgrades with STARTTLS (required unless `requireTls` is false, then whenever
 * the smarthost offers it); smtps:// is TLS from the start.
 */
export function createSmarthostTransport(options: SmarthostOptions): MessageTransport {
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
  return {
    async send(envelope, raw) {
      const info = await pool.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw });
      return { code: replyCode(info.response), response: info.response, rejected: info.rejected.map(String) };
    },
    close() {
      pool.close();
    },
  };
}
