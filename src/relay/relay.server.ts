import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { RelayMetrics } from '../http/metrics';
import type { Logger } from '../logger';
import type { AuthenticatedSessions } from './authenticated-sessions';
import { inspectMessage } from './message-inspector';
import type { RelayService, RelayUser } from './relay.service';
import { REPLIES, toSmtpError, type SmtpRejection } from './smtp-replies';
import type { TlsSource } from './tls';
import { acceptProxyHeaders, TrustedProxies } from './proxy-protocol';

export interface RelayServerOptions {
  host: string;
  /** STARTTLS port (SMTP_PORT); 0 picks a free port. */
  port: number;
  /** Implicit TLS port (SMTPS_PORT), with the same handlers; 0 picks a free port; null or absent: none. */
  smtpsPort?: number | null;
  /** Peers whose PROXY header gives the client's address (SMTP_PROXY_PROTOCOL_FROM); absent: nobody. */
  trustedProxies?: TrustedProxies;
  /** Sessions, replies by code, messages accepted. */
  metrics?: RelayMetrics;
  hostname: string;
  maxMessageBytes: number;
  maxConnectionsPerIp: number;
  /** Loaded at start and again by reloadTls(). */
  tls: TlsSource;
  /** Connections at once (SMTP_MAX_CLIENTS); smtp-server answers one more with 421 and closes it. */
  maxClients: number;
  /** Where authenticated sessions are registered, so that withdrawn ones can be closed. */
  sessions?: AuthenticatedSessions;
}

interface ConnectionInternals {
  id: string;
  secure: boolean;
  send(code: number, text: string, context?: false | string): void;
  close(): void;
  handler_PROXY?: (command: string, callback: () => void) => void;
  _isSupported(command: string): boolean;
  handler_EHLO(command: string, callback: () => void): void;
}

/**
 * DESIGN §5: AUTH is not advertised before STARTTLS. smtp-server advertises it in EHLO
 * whenever AUTH is enabled (and answers an early AUTH with 538, which we keep), and
 * disabling the command per session would turn that 538 into a 500. So, for this one
 * connection, AUTH reads as unsupported only while EHLO lists features on a plain socket.
 */
function connectionOf(servers: readonly SMTPServer[], sessionId: string): ConnectionInternals | undefined {
  for (const server of servers) {
    const connections = (server as unknown as { connections: Set<ConnectionInternals> }).connections;
    for (const c of connections) if (c.id === sessionId) return c;
  }
  return undefined;
}

function hideAuthBeforeTls(conn: ConnectionInternals): void {
  const isSupported = conn._isSupported.bind(conn);
  const ehlo = conn.handler_EHLO.bind(conn);
  let listing = false;
  conn._isSupported = (command) => (listing && !conn.secure && command.toUpperCase() === 'AUTH' ? false : isSupported(command));
  conn.handler_EHLO = (command, callback) => {
    listing = true;
    try {
      ehlo(command, callback);
    } finally {
      listing = false;
    }
  };
}

export interface RunningRelay {
  /** The STARTTLS port. */
  port: number;
  /** The implicit-TLS port, when SMTPS_PORT is served. */
  smtpsPort: number | null;
  /**
   * Loads the certificate again (SIGHUP) and uses it for every TLS handshake from now on;
   * sessions already encrypted keep theirs. Rejects, keeping the old certificate, when the
   * new one cannot be loaded.
   */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

const userOf = (session: SMTPServerSession) => session.user as unknown as RelayUser | undefined;

type Handlers = Pick<SMTPServerOptions, 'onConnect' | 'onClose' | 'onAuth' | 'onMailFrom' | 'onRcptTo' | 'onData'>;

/**
 * The smtp-server adapter: STARTTLS on SMTP_PORT and implicit TLS on SMTPS_PORT, then
 * AUTH PLAIN/LOGIN, then the relay's policy. Both listeners share one set of handlers
 * (so the same replies), one per-address connection count and one PROXY policy. Each
 * callback asks RelayService one question and maps the answer to a reply.
 */
export async function startRelayServer(relay: RelayService, options: RelayServerOptions, logger: Logger): Promise<RunningRelay> {
  const perIp = new Map<string, number>();
  const servers: SMTPServer[] = [];
  const metrics = options.metrics;
  const trustedProxies = options.trustedProxies ?? new TrustedProxies([]);
  const handlers = relayHandlers(relay, options, logger, servers, perIp);
  const tls = await options.tls.load();
  const listen = async (secure: boolean, port: number) => {
    const server = new SMTPServer({
      name: options.hostname,
      // smtp-server greets `220 <name> ESMTP <banner>`: the word ESMTP is already there.
      banner: 'mailwarden',
      secure,
      key: tls.key,
      cert: tls.cert,
      // DESIGN §5: TLS 1.2 at least (smtp-server's own default still allows TLS 1.0).
      minVersion: 'TLSv1.2',
      // Advertised as SIZE; checked through stream.sizeExceeded so the reply is ours.
      size: options.maxMessageBytes,
      authMethods: ['PLAIN', 'LOGIN'],
      // AUTH is neither advertised nor accepted before STARTTLS (smtp-server answers 538).
      allowInsecureAuth: false,
      authOptional: false,
      disabledCommands: secure ? ['STARTTLS'] : [],
      logger: false,
      // The connect-time check needs only the address; a PTR lookup per connection would
      // cost a DNS round trip (up to 1.5 s) before the greeting.
      disableReverseLookup: true,
      maxClients: options.maxClients,
      ...handlers,
      onConnect(session, callback) {
        metrics?.relaySessions.inc({ listener: secure ? 'smtps' : 'smtp' });
        handlers.onConnect!(session, callback);
      },
    });
    acceptProxyHeaders(server, trustedProxies, logger);
    server.on('error', (err) => logger.warn({ err: err.message }, 'relay connection error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host, () => resolve());
    });
    servers.push(server);
    return (server as unknown as { server: { address(): AddressInfo } }).server.address().port;
  };

  const port = await listen(false, options.port);
  logger.info({ port, host: options.host }, 'smtp relay listening (STARTTLS, AUTH PLAIN/LOGIN)');
  let smtpsPort: number | null = null;
  if (options.smtpsPort !== null && options.smtpsPort !== undefined) {
    try {
      smtpsPort = await listen(true, options.smtpsPort);
    } catch (err) {
      await closeServers(servers);
      throw err;
    }
    logger.info({ port: smtpsPort, host: options.host }, 'smtp relay listening (implicit TLS, AUTH PLAIN/LOGIN)');
  }
  if (trustedProxies.any) logger.info({ from: trustedProxies.cidrs }, 'smtp relay: PROXY protocol (v1, v2) accepted from these networks only');
  return {
    port,
    smtpsPort,
    async reloadTls() {
      const next = await options.tls.load();
      // Builds new contexts from the merged options (minVersion stays); live sockets keep their own.
      for (const server of servers) server.updateSecureContext({ key: next.key, cert: next.cert });
      logger.info({ selfSigned: next.selfSigned }, 'smtp relay: TLS certificate reloaded');
    },
    close: () => closeServers(servers),
  };
}

function closeServers(servers: SMTPServer[]): Promise<void> {
  return Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
}

/** The callbacks of both listeners. `servers` are the listeners, to find a session's connection. */
function relayHandlers(relay: RelayService, options: RelayServerOptions, logger: Logger, servers: SMTPServer[], perIp: Map<string, number>): Handlers {
  const metrics = options.metrics;
  return {
    onConnect(session, callback) {
      const conn = connectionOf(servers, session.id);
      if (conn) {
        hideAuthBeforeTls(conn);
        countReplies(conn, metrics);
        refuseLateProxyHeader(conn);
      }
      const ip = session.remoteAddress;
      const n = (perIp.get(ip) ?? 0) + 1;
      perIp.set(ip, n);
      if (n > options.maxConnectionsPerIp) return callback(toSmtpError(REPLIES.tooManyConnections()));
      try {
        relay.checkConnection(ip);
        callback();
      } catch (err) {
        callback(toSmtpError(err));
      }
    },
    onClose(session) {
      options.sessions?.closed(session.id);
      const n = (perIp.get(session.remoteAddress) ?? 1) - 1;
      if (n <= 0) perIp.delete(session.remoteAddress);
      else perIp.set(session.remoteAddress, n);
    },
    onAuth(auth, session, callback) {
      const sessions = options.sessions;
      const ticket = sessions?.beginAuth();
      relay.authenticate(auth.username ?? '', auth.password ?? '', session.remoteAddress).then(
        (user) => {
          const conn = connectionOf(servers, session.id);
          // A 421 makes smtp-server close the connection after sending it.
          const close = (reply: SmtpRejection) => conn?.send(reply.smtpCode, reply.text, false);
          if (sessions && ticket && !sessions.admit(ticket, session.id, user, session.remoteAddress, close)) {
            return callback(toSmtpError(REPLIES.authFailed()));
          }
          callback(null, { user: user as never });
        },
        (err) => {
          if (sessions && ticket) sessions.release(ticket);
          callback(toSmtpError(err));
        },
      );
    },
    onMailFrom(address, session, callback) {
      const user = userOf(session);
      if (!user) return callback(toSmtpError(REPLIES.authFailed()));
      relay.checkSender(user, address.address).then(
        () => callback(),
        (err) => callback(toSmtpError(err)),
      );
    },
    onRcptTo(address, session, callback) {
      const user = userOf(session);
      if (!user) return callback(toSmtpError(REPLIES.authFailed()));
      relay.checkRecipient(user, address.address, session.envelope.rcptTo.length).then(
        () => callback(),
        (err) => {
          if (!(err instanceof Error) || !('smtpCode' in err)) logger.warn({ err: (err as Error)?.message }, 'relay: recipient not accepted');
          callback(toSmtpError(err));
        },
      );
    },
    onData(stream, session, callback) {
      const user = userOf(session);
      inspectMessage(stream, options.maxMessageBytes)
        .then(async (message) => {
          // smtp-server counts the same bytes as the inspector; either verdict is final.
          if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) throw REPLIES.tooBig();
          if (!user) throw REPLIES.authFailed();
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          };
          return relay.accept(user, envelope, message);
        })
        .then(
          (queueId) => {
            metrics?.messages.inc({ status: 'queued' });
            callback(null, `2.0.0 Ok: queued as ${queueId}`);
          },
          (err) => {
            if (!(err instanceof Error) || !('smtpCode' in err)) logger.warn({ err: (err as Error)?.message }, 'relay: message not accepted');
            callback(toSmtpError(err));
          },
        );
    },
  };
}

/** Counts every reply the connection sends, smtp-server's own included (mailwarden_relay_replies_total). */
function countReplies(conn: ConnectionInternals, metrics: RelayMetrics | undefined): void {
  if (!metrics) return;
  const send = conn.send.bind(conn);
  conn.send = (code, text, context) => {
    metrics.relayReplies.inc({ code: String(code) });
    send(code, text, context);
  };
}

/**
 * A PROXY header from a peer outside SMTP_PROXY_PROTOCOL_FROM, sent after the greeting
 * (before it, smtp-server refuses the early talker with 421): refused, and the connection closed.
 */
function refuseLateProxyHeader(conn: ConnectionInternals): void {
  conn.handler_PROXY = () => {
    const reply = REPLIES.proxyHeaderNotTrusted();
    conn.send(reply.smtpCode, reply.text, false);
  };
}
