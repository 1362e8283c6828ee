/**
 * npm run bench:relay — 20 concurrent STARTTLS+AUTH sessions sending 1 KiB messages to
 * the relay (capture mode), next to a bare smtp-server that accepts and discards, with
 * the same client in the same run. Latency is end of DATA (the final dot) to the 250.
 */
import { SMTPServer } from 'smtp-server';
import { QUEUES } from '../../src/queue/queues';
import { selfSignedCertificate } from '../../src/relay/tls';
import { SmtpTestClient } from '../../test/support/smtp-client';
import { benchContainer, median, percentile, result, round, runBench } from './lib';

const SESSIONS = 20;
const MESSAGES = Number(process.env.BENCH_RELAY_MESSAGES ?? 4000);
const FROM = 'bench@relay.bench';
const BODY = `From: <${FROM}>\r\nTo: <r@dest.example>\r\nSubject: bench\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(1024, 'y') + '\r\n';

async function drive(port: number, username: string, password: string): Promise<{ msgsPerS: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: SESSIONS }, async () => {
      const { client } = await SmtpTestClient.connect(port);
      const auth = await client.login(username, password);
      if (auth.code !== 235) throw new Error(`AUTH answered ${auth.raw}`);
      while (next < MESSAGES) {
        next++;
        if ((await client.command(`MAIL FROM:<${FROM}>`)).code !== 250) throw new Error('MAIL FROM refused');
        if ((await client.command('RCPT TO:<r@dest.example>')).code !== 250) throw new Error('RCPT refused');
        if ((await client.command('DATA')).code !== 354) throw new Error('DATA refused');
        const t = process.hrtime.bigint();
        const reply = await client.body(BODY);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (reply.code !== 250) throw new Error(`message refused: ${reply.raw}`);
      }
      await client.quit();
    }),
  );
  return { msgsPerS: (MESSAGES / Number(process.hrtime.bigint() - t0)) * 1e9, latencies };
}

async function bareServer(): Promise<{ port: number; close(): Promise<void> }> {
  const tls = await selfSignedCertificate('bare.bench');
  const server = new SMTPServer({
    secure: false,
    key: tls.key,
    cert: tls.cert,
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
  // Sending limits high enough never to refuse the load: the benchmark measures the pipeline.
  const { c, dispose } = await benchContainer('relay', {
    SMTP_PORT: '0',
    SMTP_HOST: '127.0.0.1',
    DELIVERY_MODE: 'capture',
    DEFAULT_RATE_PER_SECOND: '1000000',
    DEFAULT_DAILY_QUOTA: '1000000000',
  });
  const config = c.config;
  const bare = await bareServer();
  const relay = await c.start('relay');
  try {
    const { account } = await c.services.accounts.create('bench');
    const domain = await c.services.domains.register(account.id, 'relay.bench', 'ed25519');
    await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved', allowedIps: ['127.0.0.0/8'] } });
    await c.redis.publish(`${config.queuePrefix}:allowlist-invalidate`, JSON.stringify({ domainId: domain.id }));
    const user = await c.services.smtpUsers.create(account.id, domain.id);
    await new Promise((r) => setTimeout(r, 300));

    const base = await drive(bare.port, 'any', 'any');
    const ours = await drive(relay.port, user.username, user.password);
    // The policy decision as the relay makes it (in process): cache hits after the first.
    const policy: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const t = process.hrtime.bigint();
      await relay.policy.decide(domain.id);
      policy.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    console.log(`bare smtp-server   ${round(base.msgsPerS)} msgs/s  p50 ${round(median(base.latencies))} ms  p99 ${round(percentile(base.latencies, 99))} ms`);
    console.log(`mailwarden relay   ${round(ours.msgsPerS)} msgs/s  p50 ${round(median(ours.latencies))} ms  p99 ${round(percentile(ours.latencies, 99))} ms  (spooled and enqueued before each 250)`);
    console.log(`ratio              ${round(ours.msgsPerS / base.msgsPerS, 3)}  (target >= 0.5)`);
    console.log(`policy decision    p50 ${round(median(policy), 4)} ms  p99 ${round(percentile(policy, 99), 4)} ms  (in-process cache; target p99 < 1 ms)`);
    result('relay', {
      msgs_per_s: round(ours.msgsPerS),
      baseline_msgs_per_s: round(base.msgsPerS),
      ratio: round(ours.msgsPerS / base.msgsPerS, 3),
      p50_ms: round(median(ours.latencies)),
      p99_ms: round(percentile(ours.latencies, 99)),
      policy_p99_ms: round(percentile(policy, 99), 4),
    });
  } finally {
    await relay.close();
    await bare.close();
    await c.queues.get(QUEUES.delivery).obliterate({ force: true }).catch(() => {});
    await dispose();
  }
}

runBench(main);
