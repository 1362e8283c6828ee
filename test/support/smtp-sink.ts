import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  /** True when the session was upgraded with STARTTLS. */
  secure: boolean;
}

/**
 * The smarthost: a real smtp-server that records what it accepts. Each recipient can be
 * given a plan of reply codes, one per delivery attempt (default: 250).
 */
export class SmtpSink {
  readonly received: Received[] = [];
  readonly tries = new Map<string, number>();
  private readonly plans = new Map<string, number[]>();
  private constructor(readonly server: SMTPServer) {}

  /** `starttls: false` makes a sink that offers no STARTTLS (a plaintext-only smarthost). */
  static async start(options: { starttls?: boolean } = {}): Promise<SmtpSink> {
    let sink: SmtpSink;
    const server = new SMTPServer({
      secure: false,
      disabledCommands: options.starttls === false ? ['STARTTLS'] : [],
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          const key = to[0];
          const n = (sink.tries.get(key) ?? 0) + 1;
          sink.tries.set(key, n);
          const plan = sink.plans.get(key) ?? [];
          const code = plan[Math.min(n, plan.length) - 1] ?? 250;
          if (code !== 250) {
            const err = new Error(code >= 500 ? 'Mailbox unavailable' : 'Try again later') as Error & { responseCode: number };
            err.responseCode = code;
            return callback(err);
          }
          sink.received.push({
            from: (session.envelope.mailFrom as { address: string }).address,
            to,
            raw: Buffer.concat(chunks),
            secure: session.secure,
          });
          callback(null);
        });
      },
    });
    sink = new SmtpSink(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return sink;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  plan(rcpt: string, codes: number[]): void {
    this.plans.set(rcpt, codes);
  }

  to(rcpt: string): Received[] {
    return this.received.filter((r) => r.to.includes(rcpt));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

