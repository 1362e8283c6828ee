import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '../logger';
import type { AuthenticatedSessions } from './authenticated-sessions';
import { inspectMessage } from './message-inspector';
import type { RelayService, RelayUser } from './relay.service';
import { REPLIES, toSmtpError, type SmtpRejection } from './smtp-replies';
import type { TlsSource } from './tls';

export interface RelayServerOptions {
  host: string;
  port: number;
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
  send(code: number, text: string, context: false): void;
  _isSupported(command: string): boolean;
  handler_EHLO(command: string, callback: () => void): void;
}

/**
 * DESIGN §5: AUTH is not advertised before STARTTLS. smtp-server advertises it in EHLO
 * whenever AUTH is enabled (and answers an early AUTH with 538, which we keep), and
 * disabling the command per session would turn that 538 into a 500. So, for this one
 * connection, AUTH reads as unsupported only while EHLO lists features on a plain socket.
 */
function connectionOf(server: SMTPServer, sessionId: string): ConnectionInternals | undefined {
  const connections = (server as unknown as { connections: Set<ConnectionInternals> }).connections;
  for (const c of connections) if (c.id === sessionId) return c;
  return undefined;
}

function hideAuthBeforeTls(server: SMTPServer, sessionId: string): void {
  const conn = connectionOf(server, sessionId);
  if (!conn) return;
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
  port: number;
  /**
   * Loads the certificate again (SIGHUP) and uses it for every TLS handshake from now on;
   * sessions already encrypted keep theirs. Rejects, keeping the old certificate, when the
   * new one cannot be loaded.
   */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

const userOf = (session: SMTPServerSession) => session.user as unknown as RelayUser | undefined;

/**
 * The smtp-server adapter: STARTTLS, then AUTH PLAIN/LOGIN, then the relay's policy.
 * Each callback asks RelayService one question and maps the answer to a reply.
 */
export async function startRelayServer(relay: RelayService, options: RelayServerOptions, logger: Logger): Promise<RunningRelay> {
  const perIp = new Map<string, number>();
  const tls = await options.tls.load();
  const server = new SMTPServer({
    name: options.hostname,
    banner: 'mailwarden ESMTP',
    secure: false,
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
    disabledCommands: [],
    logger: false,
    // The connect-time check needs only the address; a PTR lookup per connection would
    // cost a DNS round trip (up to 1.5 s) before the greeting.
    disableReverseLookup: true,
    maxClients: options.maxClients,
    onConnect(session, callback) {
      hideAuthBeforeTls(server, session.id);
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
          const conn = connectionOf(server, session.id);
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
          (queueId) => callback(null, `2.0.0 Ok: queued as ${queueId}`),
          (err) => {
            if (!(err instanceof Error) || !('smtpCode' in err)) logger.warn({ err: (err as Error)?.message }, 'relay: message not accepted');
            callback(toSmtpError(err));
          },
        );
    },
  });
  server.on('error', (err) => logger.warn({ err: err.message }, 'relay connection error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  logger.info({ port, host: options.host }, 'smtp relay listening (STARTTLS, AUTH PLAIN/LOGIN)');
  return {
    port,
    async reloadTls() {
      const next = await options.tls.load();
      // Builds new contexts from the merged options (minVersion stays); live sockets keep their own.
      server.updateSecureContext({ key: next.key, cert: next.cert });
      logger.info({ selfSigned: next.selfSigned }, 'smtp relay: TLS certificate reloaded');
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
