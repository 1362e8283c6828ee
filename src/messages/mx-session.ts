import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import mxConnect, { type MxConnectOptions, type MxConnection as TcpConnection } from 'mx-connect';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { MxHost } from './mx-routes';
import type { Poolable } from './mx-connection-pool';
import { parseReply, type SmtpReply } from './smtp-reply';

/**
 * `opportunistic`: STARTTLS when offered, certificate not checked, plaintext otherwise (and
 * when the handshake fails). `verify`: STARTTLS required with a certificate valid for the MX
 * host name (an MTA-STS `enforce` policy, RFC 8461 §4.2).
 */
export type TlsPolicy = 'opportunistic' | 'verify';

export interface MxSessionOptions {
  /** MX_PORT. */
  port: number;
  /** The name we greet with (EHLO). */
  ehloName: string;
  /** TCP connect time out per MX address. */
  connectTimeoutMs: number;
  /** How long the server may take to greet and to finish EHLO/STARTTLS. */
  greetingTimeoutMs: number;
  /** Inactivity time out once the session runs. */
  socketTimeoutMs: number;
  localAddress?: string;
  ignoreIPv6: boolean;
  /** Refuse MX addresses on loopback, private networks or this host (mx-connect). */
  blockLocalAddresses: boolean;
  /** CAs trusted besides the system's for `verify` sessions. */
  ca?: string[];
  /** Address lookups for MX host names, node-callback style (mx-connect's `dnsOptions.resolve`). */
  resolve: NonNullable<NonNullable<MxConnectOptions['dnsOptions']>['resolve']>;
}

/** No MX host of a destination gave us a session. */
export class MxConnectError extends Error {
  constructor(
    message: string,
    /** The last SMTP reply that ended an attempt (a `421` greeting, say), if any. */
    readonly reply: SmtpReply | null,
    readonly remoteHost: string | null,
  ) {
    super(message);
    this.name = 'MxConnectError';
  }
}

/** A nodemailer error: its class, the server's reply and the command it answered. */
export interface SmtpError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
  /** Set when the session failed in STARTTLS (the handshake included). */
  tlsFailed?: boolean;
}

export interface SendResult {
  accepted: string[];
  rejectedErrors?: SmtpError[];
  response: string;
}

/** One SMTP session to an MX host, after greeting, EHLO and STARTTLS. */
export class MxConnection implements Poolable {
  private open = true;
  private readonly closeHandlers: Array<() => void> = [];

  constructor(
    private readonly smtp: SMTPConnection,
    /** The MX host name (the domain itself for an implicit MX). */
    readonly hostname: string,
    readonly ip: string,
  ) {
    // A failure is reported through the command in flight; without a listener it would crash.
    smtp.on('error', () => {
      this.open = false;
    });
    smtp.once('end', () => {
      this.open = false;
      for (const fn of this.closeHandlers.splice(0)) fn();
    });
  }

  get alive(): boolean {
    return this.open;
  }

  /** `mx.example.com[192.0.2.1]`, as Postfix's `relay=` names it. */
  get remoteHost(): string {
    return `${this.hostname}[${this.ip}]`;
  }

  /** Whether STARTTLS encrypted the session. */
  get secure(): boolean {
    return this.smtp.secure;
  }

  quit(): void {
    this.open = false;
    this.smtp.quit();
    // A server that never answers QUIT does not hold the socket until the socket time out.
    setTimeout(() => this.smtp.close(), 2000).unref();
  }

  destroy(): void {
    this.open = false;
    this.smtp.close();
  }

  onClose(fn: () => void): void {
    if (!this.open) fn();
    else this.closeHandlers.push(fn);
  }

  /** RSET, before a pooled session carries its next message. */
  reset(): Promise<void> {
    return new Promise((resolve, reject) => this.smtp.reset((err) => (err ? reject(err) : resolve())));
  }

  /** One transaction: MAIL FROM, RCPT TO each, DATA. Rejects with an SmtpError. */
  send(envelope: { from: string; to: string[]; size: number; use8BitMime: boolean; envid?: string }, raw: Buffer): Promise<SendResult> {
    const { envid, ...rest } = envelope;
    return new Promise((resolve, reject) =>
      this.smtp.send({ ...rest, ...(envid ? { dsn: { envid } } : {}) }, raw, (err, info) => (err ? reject(err) : resolve(info))),
    );
  }

  /**
   * The RCPT TO refusals of the transaction that just failed. nodemailer attaches them to the
   * error only when every recipient was refused; after a failed DATA they are only in its
   * envelope state, which this reads (nodemailer 10's `_envelope`).
   */
  rcptRefusals(): SmtpError[] {
    const state = (this.smtp as unknown as { _envelope?: { rejectedErrors?: SmtpError[] } | false })._envelope;
    return (state && state.rejectedErrors) || [];
  }
}

const MAX_ROUNDS = 20;

/**
 * A session with the first MX host that gives one, in preference order. mx-connect makes the
 * TCP connection (the next address when one is down or times out); a host whose SMTP session
 * then fails (a 4xx/5xx greeting, EHLO, STARTTLS, a time out) is excluded and mx-connect asked
 * again. In `opportunistic` mode a failed TLS handshake is retried once in plaintext on the
 * same address. Throws MxConnectError naming every failure.
 */
export async function openMxConnection(domain: string, hosts: MxHost[], tls: TlsPolicy, opts: MxSessionOptions): Promise<MxConnection> {
  const failures: string[] = [];
  const excluded: string[] = [];
  let last: { reply: SmtpReply | null; remoteHost: string | null } = { reply: null, remoteHost: null };
  const connect = (mx: MxHost[]) =>
    mxConnect({
      target: domain,
      mx,
      port: opts.port,
      maxConnectTime: opts.connectTimeoutMs,
      localAddress: opts.localAddress,
      dnsOptions: { ignoreIPv6: opts.ignoreIPv6, preferIPv6: false, blockLocalAddresses: opts.blockLocalAddresses, resolve: opts.resolve },
      ignoreMXHosts: excluded,
      connectError: (err) => failures.push(err.message),
      mtaSts: { enabled: false },
    });

  for (let round = 0; round < MAX_ROUNDS; round++) {
    let tcp: TcpConnection;
    try {
      tcp = await connect(hosts);
    } catch (err) {
      // Once every host is excluded, mx-connect's own message says nothing new.
      if (!failures.length || !excluded.length) failures.push((err as Error).message);
      throw new MxConnectError(failures.join('; '), last.reply, last.remoteHost);
    }
    const remoteHost = `${tcp.hostname}[${tcp.host}]`;
    try {
      return await startSession(tcp, tls, false, opts);
    } catch (err) {
      let e = err as SmtpError;
      if (tls === 'opportunistic' && e.tlsFailed) {
        const family = isIP(tcp.host) === 6 ? 'AAAA' : 'A';
        try {
          return await startSession(await connect([{ exchange: tcp.hostname, priority: tcp.priority, [family]: [tcp.host] }]), tls, true, opts);
        } catch (plainErr) {
          e = plainErr as SmtpError;
        }
      }
      failures.push(`${remoteHost}: ${e.message}`);
      last = { reply: parseReply(e.response), remoteHost };
      excluded.push(tcp.host);
    }
  }
  throw new MxConnectError(failures.join('; '), last.reply, last.remoteHost);
}

function startSession(tcp: TcpConnection, tls: TlsPolicy, plain: boolean, opts: MxSessionOptions): Promise<MxConnection> {
  const servername = isIP(tcp.hostname) ? undefined : tcp.hostname;
  const smtp = new SMTPConnection({
    connection: tcp.socket,
    host: tcp.host,
    port: tcp.port,
    servername,
    name: opts.ehloName,
    secure: false,
    ignoreTLS: plain,
    opportunisticTLS: tls === 'opportunistic',
    requireTLS: tls === 'verify',
    tls:
      tls === 'verify'
        ? { rejectUnauthorized: true, servername, minVersion: 'TLSv1.2', ...(opts.ca?.length ? { ca: withSystemRoots(opts.ca) } : {}) }
        : { rejectUnauthorized: false, servername },
    connectionTimeout: opts.connectTimeoutMs,
    greetingTimeout: opts.greetingTimeoutMs,
    socketTimeout: opts.socketTimeoutMs,
    logger: false,
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: SmtpError) => {
      if (settled) return;
      settled = true;
      // A failed handshake surfaces as ETLS, or as a socket error or close while upgrading.
      if (smtp.upgrading || err.code === 'ETLS') err.tlsFailed = true;
      smtp.close();
      reject(err);
    };
    smtp.on('error', fail);
    smtp.once('end', () => fail(Object.assign(new Error('the connection closed before the session started'), { code: 'ECONNECTION' })));
    smtp.connect((err) => {
      if (err) return fail(err);
      if (settled) return;
      settled = true;
      resolve(new MxConnection(smtp, tcp.hostname, tcp.host));
    });
  });
}

function withSystemRoots(extra: string[]): string[] {
  // `ca` replaces the system roots; a real MX keeps working alongside a test CA.
  return [...rootCertificates, ...extra];
}
