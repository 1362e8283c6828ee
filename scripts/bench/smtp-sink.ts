/**
 * The SMTP ends of bench:relay, run as a child process of their own:
 * - `sink`: where the relay delivers (the smarthost, or the MX of the recipient domain).
 *   No AUTH, STARTTLS offered unless `notls`; counts what it accepts and when.
 * - `bare`: the baseline, a bare smtp-server that takes STARTTLS and any AUTH, reads
 *   each message and throws it away.
 * usage: node smtp-sink.js sink|bare CERT_FILE KEY_FILE [notls]
 * Prints `READY {"port":…}`; answers `{type:'stats'}` over IPC with the counts.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SinkStats {
  /** Messages whose Subject starts with "load " (the load client's). */
  load: number;
  /** Wall-clock time (ms since the epoch) the last of those arrived. */
  lastLoadAt: number;
  /** Every other message (the bench's own markers). */
  other: number;
  lastOtherAt: number;
  /** Sessions that were upgraded with STARTTLS, of all sessions that sent a message. */
  tlsSessions: number;
  sessions: number;
}

const now = () => performance.timeOrigin + performance.now();

function main() {
  const [mode, certFile, keyFile, tlsFlag] = process.argv.slice(2);
  if (mode !== 'sink' && mode !== 'bare') throw new Error('usage: smtp-sink.js sink|bare CERT KEY [notls]');
  const stats: SinkStats = { load: 0, lastLoadAt: 0, other: 0, lastOtherAt: 0, tlsSessions: 0, sessions: 0 };
  const counted = new Set<string>();
  const server = new SMTPServer({
    secure: false,
    key: readFileSync(keyFile),
    cert: readFileSync(certFile),
    disabledCommands: tlsFlag === 'notls' ? ['STARTTLS'] : [],
    authOptional: mode === 'sink',
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth: (auth, _session, cb) => cb(null, { user: auth.username }),
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      if (!counted.has(session.id)) {
        counted.add(session.id);
        stats.sessions++;
        if (session.secure) stats.tlsSessions++;
      }
      let head = '';
      stream.on('data', (c: Buffer) => {
        if (head.length < 4096) head += c.toString('latin1', 0, Math.min(c.length, 4096));
      });
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(Object.assign(new Error('Message too big'), { responseCode: 552 }));
        if (/^Subject: load /im.test(head)) {
          stats.load++;
          stats.lastLoadAt = now();
        } else {
          stats.other++;
          stats.lastOtherAt = now();
        }
        callback(null, 'Ok');
      });
    },
  });
  server.on('error', (err) => process.stderr.write(`[${mode}] ${err.message}\n`));
  server.listen(0, '127.0.0.1', () => {
    const port = (server.server.address() as AddressInfo).port;
    process.stdout.write(`READY ${JSON.stringify({ port })}\n`);
  });
  process.on('message', (msg: { type?: string }) => {
    if (msg?.type === 'stats') process.send?.({ type: 'stats', stats });
  });
  const stop = () => {
    setTimeout(() => process.exit(0), 2000).unref();
    server.close(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
