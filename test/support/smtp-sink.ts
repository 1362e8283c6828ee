import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  /** True when the session was upgraded with STARTTLS. */
  secure: boolean;
  /** Which connection (1, 2, …) carried the message. */
  connection: number;
}

/** A reply code (250, 451, 550 …) or a whole reply: `550 5.1.1 No such user`. */
export type PlannedReply = number | string;

export interface SinkOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** `false` makes a sink that offers no STARTTLS (a plaintext-only server). */
  starttls?: boolean;
  /** Certificate for STARTTLS (default: smtp-server's own self-signed one). */
  key?: string;
  cert?: string;
  /** Extra TLS settings, e.g. `{ maxVersion: 'TLSv1.1' }` to make every handshake fail. */
  tls?: Record<string, unknown>;
}

/**
 * A real smtp-server that records what it accepts: the smarthost, or an MX host. Replies
 * can be planned per recipient, one per attempt (the last repeats; default 250): at RCPT TO
 * with `rcpt()`, and at the end of DATA, keyed by the first recipient, with `plan()`.
 */
/**
 * The variables that make a test container deliver to `sink` as its smarthost (smtp-server
 * offers STARTTLS with its built-in self-signed certificate, hence no verification).
 */
export function smarthostEnv(sink: { port: number }): Record<string, string> {
  return { DELIVERY_MODE: 'smarthost', SMARTHOST_URL: `smtp://127.0.0.1:${sink.port}`, SMARTHOST_TLS_REJECT_UNAUTHORIZED: 'false' };
}

export class SmtpSink {
  readonly received: Received[] = [];
  readonly tries = new Map<string, number>();
  /** RCPT TO attempts per address. */
  readonly rcptTries = new Map<string, number>();
  /** Connections accepted so far, open now, and the most that were open at once. */
  connections = 0;
  open = 0;
  maxConcurrent = 0;
  private readonly plans = new Map<string, PlannedReply[]>();
  private readonly rcptPlans = new Map<string, PlannedReply[]>();
  private constructor(readonly server: SMTPServer) {}

  static async start(options: SinkOptions = {}): Promise<SmtpSink> {
    let sink: SmtpSink;
    const server = new SMTPServer({
      secure: false,
      disabledCommands: options.starttls === false ? ['STARTTLS'] : [],
      authOptional: true,
      logger: false,
      ...(options.key ? { key: options.key, cert: options.cert } : {}),
      ...(options.tls ?? {}),
      onConnect(session, callback) {
        sink.connections++;
        sink.open++;
        sink.maxConcurrent = Math.max(sink.maxConcurrent, sink.open);
        (session as { connectionNumber?: number }).connectionNumber = sink.connections;
        callback();
      },
      onClose() {
        sink.open--;
      },
      onRcptTo(address, _session, callback) {
        const n = (sink.rcptTries.get(address.address) ?? 0) + 1;
        sink.rcptTries.set(address.address, n);
        const err = replyError(pick(sink.rcptPlans.get(address.address), n));
        callback(err ?? undefined);
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          const key = to[0];
          const n = (sink.tries.get(key) ?? 0) + 1;
          sink.tries.set(key, n);
          const err = replyError(pick(sink.plans.get(key), n));
          if (err) return callback(err);
          sink.received.push({
            from: (session.envelope.mailFrom as { address: string }).address,
            to,
            raw: Buffer.concat(chunks),
            secure: session.secure,
            connection: (session as { connectionNumber?: number }).connectionNumber ?? 0,
          });
          callback(null);
        });
      },
    });
    sink = new SmtpSink(server);
    // Failed TLS handshakes and dropped clients are reported here; the sink just carries on.
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.server.removeListener('error', reject);
        resolve();
      });
    });
    return sink;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  /** Replies at the end of DATA for messages whose first recipient is `rcpt`. */
  plan(rcpt: string, replies: PlannedReply[]): void {
    this.plans.set(rcpt, replies);
  }

  /** Replies to RCPT TO `rcpt`, one per attempt. */
  rcpt(rcpt: string, replies: PlannedReply[]): void {
    this.rcptPlans.set(rcpt, replies);
  }

  to(rcpt: string): Received[] {
    return this.received.filter((r) => r.to.includes(rcpt));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Sinks on several loopback addresses sharing one port (MX_PORT is one port for every MX
 * host), retrying until a port is free on every address.
 */
export async function startSinksOnOnePort(specs: Array<SinkOptions & { host: string }>): Promise<SmtpSink[]> {
  for (let i = 0; i < 20; i++) {
    const first = await SmtpSink.start(specs[0]);
    const started = [first];
    try {
      for (const spec of specs.slice(1)) started.push(await SmtpSink.start({ ...spec, port: first.port }));
      return started;
    } catch {
      await Promise.all(started.map((s) => s.close()));
    }
  }
  throw new Error(`could not start ${specs.length} sinks on one port`);
}

function pick(plan: PlannedReply[] | undefined, attempt: number): PlannedReply {
  if (!plan?.length) return 250;
  return plan[Math.min(attempt, plan.length) - 1];
}

/** The error smtp-server turns into the planned reply, or null for a 2xx. */
function replyError(reply: PlannedReply): (Error & { responseCode: number }) | null {
  const m = /^(\d{3})(?: (.*))?$/.exec(String(reply));
  const code = Number(m?.[1] ?? 451);
  if (code < 400) return null;
  const text = m?.[2] ?? (code >= 500 ? 'Mailbox unavailable' : 'Try again later');
  return Object.assign(new Error(text), { responseCode: code });
}
