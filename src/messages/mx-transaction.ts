import type { MxConnection, SmtpError } from './mx-session';
import { formatReply, parseReply, type SmtpReply } from './smtp-reply';

export type RecipientOutcome = 'delivered' | 'deferred' | 'bounced';

/** What became of one recipient in one delivery attempt. */
export interface RecipientResult {
  address: string;
  outcome: RecipientOutcome;
  /** The remote server's reply that decided the outcome; null when none did (DNS, network, policy). */
  reply: SmtpReply | null;
  /** `mx.example.com[192.0.2.1]` when a server was reached. */
  remoteHost: string | null;
  /** One line for people: what happened, and where. */
  reason: string;
}

export interface OutgoingMessage {
  from: string;
  raw: Buffer;
  envelopeId?: string;
}

/**
 * 2xx delivers; 5xx bounces; 4xx defers. 503 (bad sequence of commands) says nothing about
 * the recipient, only about the session, so it defers too.
 */
export function outcomeOf(code: number): RecipientOutcome {
  if (code >= 200 && code < 300) return 'delivered';
  return code >= 500 && code !== 503 ? 'bounced' : 'deferred';
}

/** Results that share one cause: a DNS answer, a policy, a connection failure. */
export function sameForAll(
  recipients: string[],
  outcome: RecipientOutcome,
  reason: string,
  reply: SmtpReply | null = null,
  remoteHost: string | null = null,
): RecipientResult[] {
  return recipients.map((address) => ({ address, outcome, reply, remoteHost, reason }));
}

/**
 * Sends one message to `recipients` over an open session and says what became of each:
 * a RCPT TO refusal decides for that recipient alone; a refusal of MAIL FROM, of DATA or
 * of the message after DATA decides for every recipient RCPT TO accepted; a session that
 * breaks leaves every undecided recipient deferred. `reusable` says whether the session
 * may carry another message (after RSET).
 */
export async function transact(
  conn: MxConnection,
  msg: OutgoingMessage,
  recipients: string[],
): Promise<{ results: RecipientResult[]; reusable: boolean }> {
  const remote = conn.remoteHost;
  const decided = new Map<string, RecipientResult>();
  const decide = (address: string, reply: SmtpReply | null, outcome: RecipientOutcome, reason: string) =>
    decided.set(address, { address, outcome, reply, remoteHost: remote, reason });
  const refused = (errors: SmtpError[] | undefined) => {
    for (const e of errors ?? []) {
      const reply = parseReply(e.response);
      if (!e.recipient || !reply) continue;
      decide(e.recipient, reply, outcomeOf(reply.code), said(remote, reply, 'RCPT TO'));
    }
  };
  const envelope = {
    from: msg.from,
    to: recipients,
    size: msg.raw.length,
    use8BitMime: /[\x80-\xff]/.test(msg.raw.toString('latin1')),
    envid: msg.envelopeId,
  };
  let reusable: boolean;
  try {
    const info = await conn.send(envelope, msg.raw);
    refused(info.rejectedErrors);
    const reply = parseReply(info.response);
    for (const address of info.accepted) {
      decide(address, reply, 'delivered', reply ? said(remote, reply, 'end of DATA') : `accepted by ${remote}`);
    }
    reusable = true;
  } catch (err) {
    const e = err as SmtpError;
    refused(e.rejectedErrors ?? conn.rcptRefusals());
    const reply = parseReply(e.response);
    let outcome: RecipientOutcome = reply ? outcomeOf(reply.code) : 'deferred';
    let reason = reply ? said(remote, reply, commandOf(e)) : `${remote}: ${e.message}`;
    if (!reply && e.code === 'EMESSAGE' && e.command === 'MAIL FROM') {
      // nodemailer refused to send: the message is over the SIZE the server announced.
      outcome = 'bounced';
      reason = `${remote} accepts no message this large: ${e.message}`;
    }
    // A 2xx here would be a reply in the wrong place; it delivers nothing.
    if (outcome === 'delivered') outcome = 'deferred';
    for (const address of recipients) if (!decided.has(address)) decide(address, reply, outcome, reason);
    reusable = conn.alive && (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && reply?.code !== 421;
  }
  // Not named in nodemailer's result: the session did not say; try again later.
  const results = recipients.map(
    (address) => decided.get(address) ?? { address, outcome: 'deferred' as const, reply: null, remoteHost: remote, reason: `${remote} gave no reply for this recipient` },
  );
  return { results, reusable };
}

function commandOf(e: SmtpError): string {
  if (e.code === 'EMESSAGE' && e.command === 'DATA') return 'end of DATA';
  return e.command ?? 'the session';
}

function said(remote: string, reply: SmtpReply, command: string): string {
  return `${remote} said: ${formatReply(reply)} (in reply to ${command})`;
}
