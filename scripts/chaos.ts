/**
 * npm run chaos — mailwarden under failure (issue 13 item 8). Two relays and two workers run
 * as child processes in split roles (`mailwarden relay`, `mailwarden worker`) on a Redis
 * server this script starts on a spare port, without persistence. A steady load of
 * CHAOS_MESSAGES (5,000) messages goes through both relays to an SMTP sink (the smarthost);
 * at random moments a relay, a worker and the Redis server are killed with SIGKILL and
 * restarted (Redis comes back empty). Then it waits for the mail to drain and prints:
 * accepted, delivered, duplicates at the sink after a recorded success, lost, and the
 * longest time from a restart to the delivery of the mail that was in flight then.
 * MongoDB comes from the dev chain (MONGODB_URI, mongodb-memory-server or FerretDB).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { findOrStartMongo } from '../src/dev/services';
import { freePort, tcpOpen } from '../src/dev/net-probe';
import { createLogger } from '../src/logger';
import { ChaosProcess, redisProcess } from './chaos/processes';

const MESSAGES = Number(process.env.CHAOS_MESSAGES ?? 5000);
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 8);
/** Submissions per second, steady (the load is paced, not as fast as the relays take it). */
const RATE = Number(process.env.CHAOS_RATE ?? 8);
/** The drain ends when every message arrived, when nothing arrived for STALL_MS, or DRAIN_MS after the last restart. */
const DRAIN_MS = Number(process.env.CHAOS_DRAIN_MS ?? 600_000);
const STALL_MS = Number(process.env.CHAOS_STALL_MS ?? 60_000);
const ADMIN_KEY = `chaos-admin-${randomBytes(12).toString('hex')}`;
const log = (m: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 23)}] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

/** Every child this script started, killed on the way out whatever happens. */
const children: ChaosProcess[] = [];

interface Submission {
  id: string;
  queueId: string;
  acceptedAt: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mailwarden-chaos-'));
  const logDir = join(dir, 'logs');
  const stamp = Date.now().toString(36);
  const mongo = await findOrStartMongo({ env: process.env, log: (m) => log(`services: ${m}`), scratchDir: join(dir, 'mongo') });
  const mongoUri = `${mongo.uri.replace(/\/[^/]*$/, '')}/chaos_${stamp}`;
  const redisPort = await freePort();
  const redis = redisProcess(redisPort, join(dir, 'redis'), logDir);
  children.push(redis.proc);
  await redis.start();

  // The sink: every message carries X-Chaos-Id (one per submission attempt); each arrival is timed.
  const arrivals = new Map<string, number[]>();
  const sink = new SMTPServer({
    authOptional: true,
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const id = /^X-Chaos-Id: (\S+)/im.exec(Buffer.concat(chunks).toString('latin1'))?.[1];
        if (id) arrivals.set(id, [...(arrivals.get(id) ?? []), Date.now()]);
        callback();
      });
    },
  });
  // A worker killed mid-session resets its connection: that is the point, not an error.
  sink.on('error', () => {});
  const sinkPort = await freePort();
  await new Promise<void>((r) => sink.listen(sinkPort, '127.0.0.1', () => r()));

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'development',
    // info: a role says `mailwarden started` at that level, which tells the script it is up.
    LOG_LEVEL: 'info',
    MONGODB_URI: mongoUri,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    MASTER_KEY: randomBytes(32).toString('base64'),
    ADMIN_API_KEY: ADMIN_KEY,
    QUEUE_PREFIX: `{mwchaos${stamp}}`,
    DNS_RESOLVERS: '127.0.0.1',
    DELIVERY_MODE: 'smarthost',
    SMARTHOST_URL: `smtp://127.0.0.1:${sinkPort}`,
    SMARTHOST_TLS_REJECT_UNAUTHORIZED: 'false',
    DELIVERY_RETRY_BASE_MS: '1000',
    SWEEP_INTERVAL_MS: '1000',
    DEFAULT_RATE_PER_SECOND: '100000',
    DEFAULT_DAILY_QUOTA: '10000000',
    SHUTDOWN_GRACE_MS: '5000',
  };

  // One verified, approved domain with an SMTP user, open to 127.0.0.1; never due for a check.
  const c = await createContainer(loadConfig({ ...env, PORT: '0' } as Record<string, string>), createLogger('silent'));
  const admin = `Bearer ${ADMIN_KEY}`;
  const acct = (await request(c.http).post('/v1/accounts').set('Authorization', admin).send({ name: 'Chaos' }).expect(201)).body;
  const auth = `Bearer ${acct.apiKey}`;
  const domain = (await request(c.http).post('/v1/domains').set('Authorization', auth).send({ domain: 'chaos.example', dkim: { algorithm: 'ed25519' } }).expect(201)).body;
  await request(c.http).put(`/v1/domains/${domain.id}/allowed-ips`).set('Authorization', auth).send({ cidrs: ['127.0.0.0/8'] }).expect(200);
  const user = (await request(c.http).post(`/v1/domains/${domain.id}/smtp-users`).set('Authorization', auth).send({}).expect(201)).body;
  await c.mongo
    .collection('domains')
    .updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved', nextCheckAt: new Date('2100-01-01T00:00:00Z') }, $inc: { version: 1 } });

  log(`load: ${MESSAGES} messages at ${RATE}/s through both relays`);
  const main = join(__dirname, '..', 'src', 'main.js');
  const relayPorts = [await freePort(), await freePort()];
  const relays = relayPorts.map((port, i) => new ChaosProcess(`relay${i + 1}`, process.execPath, [main, 'relay'], { ...env, SMTP_PORT: String(port), SMTP_HOST: '127.0.0.1' }, logDir));
  const workers = [1, 2].map((i) => new ChaosProcess(`worker${i}`, process.execPath, [main, 'worker'], env, logDir));
  children.push(...relays, ...workers);
  const startRelay = (i: number) => relays[i].start(async () => relays[i].started && (await tcpOpen('127.0.0.1', relayPorts[i], 300)));
  const startWorker = (i: number) => workers[i].start(async () => workers[i].started);
  await Promise.all([startRelay(0), startRelay(1), startWorker(0), startWorker(1)]);
  log(`started: redis :${redisPort}, relays :${relayPorts.join(' :')}, 2 workers, sink :${sinkPort}; logs in ${logDir}`);

  // The load: CONCURRENCY senders per relay, each retrying a refused or cut submission as a new attempt.
  const transports = relayPorts.map((port) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: user.username, pass: user.password }, pool: true, maxConnections: CONCURRENCY }),
  );
  const accepted: Submission[] = [];
  let refused = 0;
  let t0 = Date.now();
  let next = 0;
  const from = 'load@chaos.example';
  const sendOne = async (relay: number) => {
    const n = next++;
    const due = t0 + (n * 1000) / RATE;
    if (Date.now() < due) await sleep(due - Date.now());
    for (let attempt = 1; ; attempt++) {
      const id = `${n}.${attempt}`;
      try {
        const info = await transports[(relay + attempt - 1) % 2].sendMail({
          envelope: { from, to: [`rcpt${n}@dest.example`] },
          raw: `From: Load <${from}>\r\nTo: rcpt${n}@dest.example\r\nSubject: chaos ${n}\r\nX-Chaos-Id: ${id}\r\n\r\n${'x'.repeat(900)}\r\n`,
        });
        const queueId = /queued as (\S+)/.exec(info.response)?.[1];
        if (!queueId) throw new Error(`no queue id in ${info.response}`);
        accepted.push({ id, queueId, acceptedAt: Date.now() });
        return;
      } catch {
        refused++;
        await sleep(200);
      }
    }
  };

  // Kill -9 and restart, each at a random point of the load.
  const restarts: Array<{ what: string; at: number }> = [];
  const chaos = async (what: string, atAccepted: number, kill: () => Promise<void>, start: () => Promise<void>) => {
    while (accepted.length < atAccepted) await sleep(50);
    await kill();
    log(`kill -9 ${what} after ${accepted.length} accepted`);
    await sleep(rand(500, 3000));
    await start();
    restarts.push({ what, at: Date.now() });
    log(`${what} restarted`);
  };
  const r = Math.floor(Math.random() * 2);
  const w = Math.floor(Math.random() * 2);
  const chaosDone = Promise.all([
    chaos(`relay${r + 1}`, Math.floor(MESSAGES * rand(0.1, 0.3)), () => relays[r].kill(), () => startRelay(r)),
    chaos(`worker${w + 1}`, Math.floor(MESSAGES * rand(0.35, 0.55)), () => workers[w].kill(), () => startWorker(w)),
    chaos('redis', Math.floor(MESSAGES * rand(0.6, 0.8)), () => redis.proc.kill(), () => redis.start()),
  ]);
  t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY * 2 }, async (_, i) => {
      while (next < MESSAGES) await sendOne(i % 2);
    }),
  );
  const loadMs = Date.now() - t0;
  log(`load done: ${accepted.length} accepted in ${(loadMs / 1000).toFixed(1)} s, ${refused} submissions refused or cut (retried)`);
  await chaosDone;
  const lastRestart = Math.max(...restarts.map((x) => x.at));

  // Drain: until every accepted message reached the sink, nothing arrived for STALL_MS, or DRAIN_MS after the last restart.
  let lastArrival = Date.now();
  let seen = arrivals.size;
  while (accepted.some((s) => !arrivals.has(s.id)) && Date.now() - lastRestart < DRAIN_MS && Date.now() - lastArrival < STALL_MS) {
    await sleep(500);
    if (arrivals.size !== seen) [seen, lastArrival] = [arrivals.size, Date.now()];
  }

  const delivered = accepted.filter((s) => arrivals.has(s.id));
  const lost = accepted.filter((s) => !arrivals.has(s.id));
  // A duplicate counts when a copy arrived after the message's success was recorded (deliveredAt).
  const docs = await c.mongo
    .collection('messages')
    .find({ _id: { $in: accepted.map((s) => s.queueId) } } as never, { projection: { status: 1, deliveredAt: 1 } })
    .toArray();
  const byQueueId = new Map(docs.map((d) => [String(d._id), d as unknown as { status: string; deliveredAt: Date | null }]));
  let duplicatesAfterSuccess = 0;
  let resentBeforeSuccess = 0;
  for (const s of delivered) {
    const times = arrivals.get(s.id)!;
    const recorded = byQueueId.get(s.queueId)?.deliveredAt;
    for (const t of times.slice(1)) {
      if (recorded && t > new Date(recorded).getTime()) duplicatesAfterSuccess++;
      else resentBeforeSuccess++;
    }
  }
  const unacceptedDelivered = [...arrivals.keys()].filter((id) => !accepted.some((s) => s.id === id)).length;
  // For each restart: the mail accepted before it and not yet at the sink; how long after the restart it arrived.
  let longest = 0;
  let longestWhat = '-';
  for (const x of restarts) {
    for (const s of accepted) {
      const first = arrivals.get(s.id)?.[0];
      if (s.acceptedAt > x.at || (first !== undefined && first <= x.at)) continue;
      const wait = (first ?? Date.now()) - x.at;
      if (wait > longest) [longest, longestWhat] = [wait, x.what];
    }
  }
  const lostStatus = new Map<string, number>();
  const delivery = c.queues.get('delivery');
  for (const s of lost) {
    const job = await delivery.getJob(`deliver-${s.queueId}`).catch(() => undefined);
    const st = `${byQueueId.get(s.queueId)?.status ?? 'missing'} (${job ? `job ${await job.getState()}` : 'no job'})`;
    lostStatus.set(st, (lostStatus.get(st) ?? 0) + 1);
  }
  const lastDelivery = Math.max(...delivered.map((s) => arrivals.get(s.id)![0]));

  process.stdout.write(
    `\nchaos: ${MESSAGES} messages, 2 relays + 2 workers (split roles), kill -9 of ${restarts.map((x) => x.what).join(', ')}\n` +
      `accepted                          ${accepted.length}\n` +
      `delivered                         ${delivered.length}\n` +
      `duplicates after recorded success ${duplicatesAfterSuccess}\n` +
      `resent before a recorded success  ${resentBeforeSuccess}\n` +
      `lost                              ${lost.length}${lost.length ? ` (by status: ${[...lostStatus].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}\n` +
      `delivered without a 250           ${unacceptedDelivered} (submissions cut after the spool)\n` +
      `refused or cut submissions        ${refused} (retried as new attempts)\n` +
      `longest restart → delivery        ${(longest / 1000).toFixed(1)} s (after the ${longestWhat} restart)${lost.length ? ', still waiting for the lost ones' : ''}\n` +
      `last restart → last delivery      ${delivered.length ? ((lastDelivery - lastRestart) / 1000).toFixed(1) : '-'} s\n` +
      `starts that failed (store down)   ${[...relays, ...workers].map((p) => `${p.name} ${p.exits}`).join(', ')} (started again a second later)\n` +
      `load                              ${(loadMs / 1000).toFixed(1)} s (${(accepted.length / (loadMs / 1000)).toFixed(1)} accepted/s)\n`,
  );

  // The figures are out: the clean-up may not hold the script (a store that does not answer).
  setTimeout(() => process.exit(lost.length || duplicatesAfterSuccess ? 1 : 0), 30_000).unref();
  for (const t of transports) t.close();
  await Promise.all([...relays, ...workers].map((p) => p.stop()));
  await c.mongo.dropDatabase().catch(() => {});
  await c.close();
  await redis.proc.stop();
  await new Promise<void>((r2) => sink.close(() => r2()));
  await mongo.stop();
  process.exitCode = lost.length || duplicatesAfterSuccess ? 1 : 0;
}

// Whatever ends this script, its children go with it.
process.on('exit', () => {
  for (const p of children) p.killNow();
});

main().catch(async (err) => {
  process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
  await Promise.all(children.map((p) => p.kill()));
  process.exit(1);
});
