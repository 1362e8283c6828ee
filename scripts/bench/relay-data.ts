/**
 * npm run bench:relay-data — one 50 MiB message that is a single line, sent over
 * STARTTLS+AUTH to the relay (SMTP_MAX_MESSAGE_BYTES 64 MiB, so the line limit is what
 * refuses it), while a second session sends NOOP after NOOP. The client runs in a child
 * process, so this process's figures are the server's own: its peak RSS over the
 * baseline, the event loop's worst delay, and the slowest NOOP answer meanwhile; the
 * same for a bare smtp-server that only drains DATA, in the same run, for comparison.
 */
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import { selfSignedCertificate } from '../../src/relay/tls';
import { SmtpTestClient } from '../../test/support/smtp-client';
import { benchContainer, result, round, runBench } from './lib';

const MIB = 1024 * 1024;
const LINE_MIB = Number(process.env.BENCH_RELAY_DATA_MIB ?? 50);
const FROM = 'bench@relay-data.bench';

interface ClientReport {
  reply: string;
  seconds: number;
  maxNoopMs: number;
  noops: number;
}

async function login(port: number, username: string, password: string): Promise<SmtpTestClient> {
  const { client, greeting } = await SmtpTestClient.connect(port);
  if (greeting.code !== 220) throw new Error(`greeting: ${greeting.raw}`);
  const auth = await client.login(username, password);
  if (auth.code !== 235) throw new Error(`AUTH answered ${auth.raw}`);
  return client;
}

async function transaction(client: SmtpTestClient, chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string>) {
  for (const command of [`MAIL FROM:<${FROM}>`, 'RCPT TO:<r@dest.example>', 'DATA']) {
    const reply = await client.command(command);
    if (reply.code >= 400) return reply;
  }
  return client.raw(chunks);
}

/** The child: sends the big line on one session while another one pings with NOOP. */
async function clientMain(port: number, username: string, password: string): Promise<void> {
  const send = (m: object) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  const big = await login(port, username, password);
  const prober = await login(port, username, password);
  const small = `From: <${FROM}>\r\nSubject: warm-up\r\n\r\nhello\r\n.\r\n`;
  for (let i = 0; i < 3; i++) {
    const reply = await transaction(big, [small]);
    if (reply.code !== 250) throw new Error(`warm-up refused: ${reply.raw}`);
  }
  await send({ ready: true });
  await new Promise((resolve) => process.once('message', resolve));

  let sending = true;
  let maxNoopMs = 0;
  let noops = 0;
  const probing = (async () => {
    while (sending) {
      const t = process.hrtime.bigint();
      await prober.command('NOOP');
      maxNoopMs = Math.max(maxNoopMs, Number(process.hrtime.bigint() - t) / 1e6);
      noops++;
    }
  })();
  const chunk = Buffer.alloc(64 * 1024, 'z');
  async function* message() {
    yield `From: <${FROM}>\r\nSubject: one long line\r\n\r\n`;
    for (let sent = 0; sent < LINE_MIB * MIB; sent += chunk.length) yield chunk;
    yield '\r\n.\r\n';
  }
  const t0 = process.hrtime.bigint();
  const reply = await transaction(big, message());
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  sending = false;
  await probing;
  await big.quit();
  await prober.quit();
  await send({ reply: reply.raw, seconds, maxNoopMs, noops } satisfies ClientReport);
}

/** Runs the client in a child process against `port` and watches this process meanwhile. */
async function measure(port: number, username: string, password: string) {
    const child = fork(__filename, ['client', String(port), username, password]);
    const messages: object[] = [];
    let exited: Error | null = null;
    let wake: (() => void) | null = null;
    child.on('message', (m: object) => {
      messages.push(m);
      wake?.();
    });
    child.on('exit', (code) => {
      exited = new Error(`bench client exited (${code})`);
      wake?.();
    });
    const nextMessage = async <T>(): Promise<T> => {
      while (!messages.length) {
        if (exited) throw exited;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      return messages.shift() as T;
    };
    await nextMessage<{ ready: true }>();

    (globalThis as { gc?: () => void }).gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    child.send({ go: true });
    const report = await nextMessage<ClientReport>();
    loop.disable();
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);

    return { report, baseline, peak, loop: { max: loop.max, p99: loop.percentile(99) } };
}

/** smtp-server alone, draining DATA: what the same message costs without the relay's inspection. */
async function bareServer(): Promise<{ port: number; close(): Promise<void> }> {
  const tls = await selfSignedCertificate('bare.bench');
  const server = new SMTPServer({
    secure: false,
    key: tls.key,
    cert: tls.cert,
    size: 64 * MIB,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth: (auth, _s, cb) => cb(null, { user: auth.username }),
    onData: (stream, _s, cb) => {
      stream.resume();
      stream.on('end', () => cb(null, 'Ok'));
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server as unknown as { server: { address(): { port: number } } }).server.address().port;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function main() {
  const { c, dispose } = await benchContainer('relaydata', { SMTP_PORT: '0', SMTP_HOST: '127.0.0.1', SMTP_MAX_MESSAGE_BYTES: String(64 * MIB) });
  const relay = await c.start('relay');
  try {
    const { account } = await c.services.accounts.create('bench');
    const domain = await c.services.domains.register(account.id, 'relay-data.bench', 'ed25519');
    await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved', allowedIps: ['127.0.0.0/8'] } });
    await c.redis.publish(`${c.config.queuePrefix}:allowlist-invalidate`, JSON.stringify({ domainId: domain.id }));
    const user = await c.services.smtpUsers.create(account.id, domain.id);
    // The allowlist travels over pub/sub: wait until a connection is let in.
    for (let i = 0; ; i++) {
      const { client, greeting } = await SmtpTestClient.connect(relay.port);
      await client.quit();
      if (greeting.code === 220) break;
      if (i > 200) throw new Error(`relay never let the bench in: ${greeting.raw}`);
      await new Promise((r) => setTimeout(r, 25));
    }

    // Each side runs once to warm up (heap sizes, TLS, JIT), then once measured.
    const bare = await bareServer();
    await measure(bare.port, 'any', 'any');
    await measure(relay.port, user.username, user.password);
    const base = await measure(bare.port, 'any', 'any');
    await bare.close();
    const { report, baseline, peak, loop } = await measure(relay.port, user.username, user.password);
    if (!report.reply.startsWith('554 5.6.0 Line too long')) throw new Error(`expected 554 5.6.0 Line too long, got ${report.reply}`);
    const growthMb = (peak - baseline) / MIB;
    const maxLoopMs = loop.max / 1e6;
    const line = (label: string, m: Awaited<ReturnType<typeof measure>>) =>
      console.log(
        `${label.padEnd(20)} ${JSON.stringify(m.report.reply)} after ${round(m.report.seconds)} s; RSS ${round(m.baseline / MIB)} -> peak ${round(m.peak / MIB)} MiB ` +
          `(+${round((m.peak - m.baseline) / MIB)}); loop delay max ${round(m.loop.max / 1e6)} ms, p99 ${round(m.loop.p99 / 1e6)} ms; ` +
          `${m.report.noops} NOOPs on another session, slowest ${round(m.report.maxNoopMs)} ms`,
      );
    console.log(`${LINE_MIB} MiB on one line over STARTTLS+AUTH, the client in a child process:`);
    line('bare smtp-server', base);
    line('mailwarden relay', { report, baseline, peak, loop });
    result('relay-data', {
      rss_growth_mb: round(growthMb),
      max_loop_delay_ms: round(maxLoopMs),
      max_noop_ms: round(report.maxNoopMs),
      mib_per_s: round(LINE_MIB / report.seconds),
      bare_rss_growth_mb: round((base.peak - base.baseline) / MIB),
      bare_max_loop_delay_ms: round(base.loop.max / 1e6),
    });
  } finally {
    await relay.close();
    await dispose();
  }
}

if (process.argv[2] === 'client') {
  clientMain(Number(process.argv[3]), process.argv[4], process.argv[5]).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else runBench(main);
