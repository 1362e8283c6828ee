import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate, TLSSocket } from 'node:tls';

export interface SmtpReply {
  code: number;
  lines: string[];
  /** The last line without its code: "2.0.0 Ok: queued as …". */
  text: string;
  /** The whole reply as the server sent it, lines joined with \n. */
  raw: string;
}

/**
 * A deliberately plain SMTP client for tests: one command, one reply, so every reply
 * code and text of the relay can be asserted exactly. STARTTLS upgrades the socket.
 */
export class SmtpTestClient {
  private buffer = '';
  private waiting: ((r: SmtpReply) => void) | null = null;
  private readonly replies: SmtpReply[] = [];
  private closed = false;
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(private socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  /**
   * Connects and reads the greeting. `preamble` is written as soon as the TCP connection
   * stands (a load balancer's PROXY header); `tls` then starts TLS at once (implicit TLS, port 465).
   */
  static async connect(
    port: number,
    options: { host?: string; localAddress?: string; preamble?: string | Uint8Array; tls?: boolean } = {},
  ): Promise<{ client: SmtpTestClient; greeting: SmtpReply }> {
    const plain = connect({ port, host: options.host ?? '127.0.0.1', localAddress: options.localAddress });
    await new Promise<void>((resolve, reject) => {
      plain.once('connect', resolve);
      plain.once('error', reject);
    });
    if (options.preamble) plain.write(options.preamble);
    let socket: Socket | TLSSocket = plain;
    if (options.tls) {
      const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      socket = secure;
    }
    const client = new SmtpTestClient(socket);
    return { client, greeting: await client.next() };
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('close', () => this.markClosed());
    socket.on('error', () => this.markClosed());
  }

  private markClosed(): void {
    this.closed = true;
    for (const w of this.closeWaiters.splice(0)) w();
  }

  /** Resolves when the server has closed the connection (rejects after 10 s). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the connection was not closed within 10 s')), 10_000);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onData(d: string): void {
    this.buffer += d;
    for (;;) {
      const lines = this.buffer.split('\r\n');
      const end = lines.findIndex((l) => /^\d{3} /.test(l) || /^\d{3}$/.test(l));
      if (end < 0 || end === lines.length - 1) return;
      const replyLines = lines.slice(0, end + 1);
      this.buffer = lines.slice(end + 1).join('\r\n');
      const last = replyLines[replyLines.length - 1];
      const reply = { code: Number(last.slice(0, 3)), lines: replyLines, text: last.slice(4), raw: replyLines.join('\n') };
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(reply);
      } else this.replies.push(reply);
    }
  }

  /** The next reply (rejects after 10 s or when the server hangs up without one). */
  next(): Promise<SmtpReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SMTP reply within 10 s${this.closed ? ' (connection closed)' : ''}`)), 10_000);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  async command(line: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    return this.next();
  }

  async ehlo(name = 'client.test'): Promise<SmtpReply> {
    return this.command(`EHLO ${name}`);
  }

  /**
   * STARTTLS, then the TLS handshake (any certificate: the relay's is self-signed in tests).
   * `tls` adds client options (e.g. maxVersion); a failed handshake rejects with its error.
   */
  async starttls(tls: ConnectionOptions = {}): Promise<SmtpReply> {
    const reply = await this.command('STARTTLS');
    if (reply.code !== 220) return reply;
    this.socket.removeAllListeners('data');
    const secure = tlsConnect({ socket: this.socket as Socket, rejectUnauthorized: false, ...tls });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', (err) => {
        // A failed handshake leaves nothing to talk to: quit() must not wait for a reply.
        this.closed = true;
        secure.destroy();
        reject(err);
      });
    });
    this.socket = secure;
    this.attach(secure);
    return reply;
  }

  /** The server's certificate, once STARTTLS is done (null before). */
  peerCertificate(): PeerCertificate | null {
    return this.socket instanceof TLSSocket ? this.socket.getPeerCertificate() : null;
  }

  async authPlain(username: string, password: string): Promise<SmtpReply> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${username}\0${password}`).toString('base64')}`);
  }

  async authLogin(username: string, password: string): Promise<SmtpReply> {
    const first = await this.command('AUTH LOGIN');
    if (first.code !== 334) return first;
    const second = await this.command(Buffer.from(username).toString('base64'));
    if (second.code !== 334) return second;
    return this.command(Buffer.from(password).toString('base64'));
  }

  /** Connect-to-authenticated in one go: EHLO, STARTTLS, EHLO, AUTH PLAIN. */
  async login(username: string, password: string): Promise<SmtpReply> {
    await this.ehlo();
    await this.starttls();
    await this.ehlo();
    return this.authPlain(username, password);
  }

  /** DATA with dot-stuffing; returns the reply to the final dot (or to DATA when refused). */
  async data(message: string | Buffer): Promise<SmtpReply> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    return this.body(message);
  }

  /** After a 354: the message, dot-stuffed, and the final dot; resolves with the reply to it. */
  body(message: string | Buffer): Promise<SmtpReply> {
    const text = Buffer.isBuffer(message) ? message.toString('utf8') : message;
    const body = text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.socket.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    return this.next();
  }

  /**
   * After a 354: writes the chunks exactly as given (no dot-stuffing, no line-ending
   * repair; the caller ends with `\r\n.\r\n`), waiting for the socket to drain between
   * chunks, so a huge message never sits in memory; resolves with the reply.
   */
  async raw(chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string>): Promise<SmtpReply> {
    for await (const chunk of chunks) {
      if (this.closed) break;
      if (!this.socket.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.socket.off('drain', done);
            this.socket.off('close', done);
            resolve();
          };
          this.socket.on('drain', done);
          this.socket.on('close', done);
        });
      }
    }
    return this.next();
  }

  /** A whole transaction after login. */
  async send(from: string, to: string[], message: string): Promise<SmtpReply> {
    const mail = await this.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) return mail;
    for (const rcpt of to) {
      const r = await this.command(`RCPT TO:<${rcpt}>`);
      if (r.code !== 250) return r;
    }
    return this.data(message);
  }

  async quit(): Promise<void> {
    if (!this.closed) await this.command('QUIT').catch(() => undefined);
    this.socket.destroy();
  }
}
