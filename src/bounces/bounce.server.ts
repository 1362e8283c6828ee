import type { AddressInfo, Server, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Logger } from '../logger';
import { REPLIES, toSmtpError } from '../relay/smtp-replies';
import type { TlsSource } from '../relay/tls';
import type { BounceService } from './bounce.service';

export interface BounceServerOptions {
  host: string;
  port: number;
  hostname: string;
  /** The largest report accepted (advertised as SIZE): a DSN quotes at most the original message. */
  maxMessageBytes: number;
  /** Recipients per transaction. */
  maxRecipients: number;
  /** The longest one connection may last, whatever it does. */
  maxConnectionMs: number;
  /** The longest a connection may stay silent. */
  idleTimeoutMs: number;
  maxClients: number;
  /** STARTTLS is offered with the relay's certificate. */
  tls: TlsSource;
}

export interface RunningBounceServer {
  port: number;
  close(): Promise<void>;
}

/** Reads the DATA stream into one buffer; more than `max` bytes ends the read (smtp-server then flags sizeExceeded). */
function collect(stream: NodeJS.ReadableStream, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/**
 * The bounce intake's smtp-server adapter (DESIGN §1 role `bounce`): inbound SMTP without
 * AUTH, RCPT only for verified return-path subdomains, DATA bounded in size, every
 * connection bounded in time. Each callback asks BounceService one question.
 */
export async function startBounceServer(bounces: BounceService, options: BounceServerOptions, logger: Logger): Promise<RunningBounceServer> {
  const tls = await options.tls.load();
  const server = new SMTPServer({
    name: options.hostname,
    banner: 'mailwarden bounce intake',
    secure: false,
    key: tls.key,
    cert: tls.cert,
    minVersion: 'TLSv1.2',
    size: options.maxMessageBytes,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    disableReverseLookup: true,
    maxClients: options.maxClients,
    socketTimeout: options.idleTimeoutMs,
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= options.maxRecipients) return callback(toSmtpError(REPLIES.tooManyRecipients(options.maxRecipients)));
      bounces.acceptsRecipient(address.address).then(
        (verdict) => {
          if (verdict === 'accept') return callback();
          callback(toSmtpError(verdict === 'not_verp' ? REPLIES.notABounceAddress() : REPLIES.notAReturnPath()));
        },
        (err) => {
          logger.warn({ err: (err as Error).message }, 'bounce intake: recipient lookup failed');
          callback(toSmtpError(err));
        },
      );
    },
    onData(stream, session, callback) {
      collect(stream, options.maxMessageBytes)
        .then((raw) => {
          if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) throw REPLIES.tooBig();
          return bounces.receive(
            session.envelope.rcptTo.map((r) => r.address),
            raw,
          );
        })
        .then(
          (outcomes) => callback(null, `2.0.0 Ok: report received (${outcomes.join(', ')})`),
          (err) => {
            if (!(err instanceof Error) || !('smtpCode' in err)) logger.warn({ err: (err as Error)?.message }, 'bounce intake: report not processed');
            callback(toSmtpError(err));
          },
        );
    },
  });
  server.on('error', (err) => logger.warn({ err: err.message }, 'bounce intake connection error'));
  const net = (server as unknown as { server: Server }).server;
  // smtp-server bounds silence (socketTimeout), not duration: a client trickling bytes could hold a slot for ever.
  net.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      const reply = REPLIES.connectionTimeLimit();
      socket.end(`${reply.smtpCode} ${reply.text}\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
    }, options.maxConnectionMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (net.address() as AddressInfo).port;
  logger.info({ port, host: options.host }, 'bounce intake listening');
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
