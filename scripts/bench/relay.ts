/**
 * npm run bench:relay — the relay end to end, every part in a process of its own:
 * the service as `mailwarden all` (production mode, FerretDB/MongoDB and Redis from the
 * bench chain), a test DNS world serving the sender domain's SPF/DKIM and the recipient
 * domain's MX, a sink that counts what arrives, and the load client (20 pooled
 * STARTTLS+AUTH sessions, ~1 KiB messages). Reports acceptance msgs/s and latency, and
 * end-to-end msgs/s until the last message arrived at the sink (its status confirmed
 * through the API), next to a bare smtp-server and, when installed, Postfix, in the same
 * run; and the CPU seconds each process spent.
 * Env: BENCH_RELAY_MESSAGES (3000), BENCH_RELAY_SESSIONS (20), BENCH_DELIVERY_MODE
 * (mx|smarthost; default mx when the service has it, else smarthost), BENCH_SINK_TLS
 * (true: the sink offers STARTTLS), BENCH_LOAD_CLIENT=builtin, BENCH_LOG_LEVEL (warn),
 * BENCH_SERVICE_NODE_ARGS (node options of the service process only: `--cpu-prof
 * --cpu-prof-dir=…` for a profile, `--require <repo>/scripts/bench/mongo-commands.cjs` with
 * MONGO_COMMANDS_OUT for its MongoDB commands by command and collection).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { loadConfig } from '../../src/config';
import { createContainer } from '../../src/container';
import { freePort } from '../../src/dev/net-probe';
import { createLogger } from '../../src/logger';
import { selfSignedCertificate } from '../../src/relay/tls';
import { ask, Cleanup, startChild, type Child } from './children';
import type { PublishRequest } from './dns-world';
import { benchServices, median, percentile, result, round, runBench } from './lib';
import { loadClient, runLoad, type LoadResult } from './load-run';
import { runPostfixAnchor, type PostfixRun } from './postfix-anchor';
import { CpuSampler, findFerretDb, loadAverage, printCpuTable } from './proc-cpu';
import { api, sendMarker, serviceEnv, setUpSender, startService, type DeliveryMode, type ServiceWorld } from './relay-service';
import type { SinkStats } from './smtp-sink';

const MESSAGES = Number(process.env.BENCH_RELAY_MESSAGES ?? 3000);
const SESSIONS = Number(process.env.BENCH_RELAY_SESSIONS ?? 20);
const SINK_TLS = !/^(0|false|no)$/i.test(process.env.BENCH_SINK_TLS ?? 'true');
const STALL_MS = 60_000;
const SENDER_DOMAIN = 'sender.bench';
const FROM = `app@${SENDER_DOMAIN}`;
// The recipient of every load message (load.js sends to user@example.net).
const RECIPIENT_DOMAIN = 'example.net';
const SPF_INCLUDE = '_spf.mailwarden.bench';

/** `mongodb://host/` with `db` as its database, query kept. */
function withDatabase(uri: string, db: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!m) throw new Error(`cannot put a database name into ${uri}`);
  return `${m[1]}/${db}${m[3] ?? ''}`;
}

const sinkStats = (sink: Child) => ask<SinkStats>(sink.proc, { type: 'stats' }, (r) => ((r as { type?: string }).type === 'stats' ? (r as { stats: SinkStats }).stats : undefined));

/** Waits until the sink has `ok` load messages and `markers` others, or nothing arrived for STALL_MS. */
async function waitForSink(sink: Child, ok: number, markers: number): Promise<SinkStats> {
  let last = await sinkStats(sink);
  let progressAt = Date.now();
  while (last.load < ok || last.other < markers) {
    await new Promise((r) => setTimeout(r, 100));
    const s = await sinkStats(sink);
    if (s.load + s.other > last.load + last.other) progressAt = Date.now();
    last = s;
    if (Date.now() - progressAt > STALL_MS) break;
  }
  return last;
}

async function main() {
  const cleanup = new Cleanup();
  cleanup.onSignals();
  const load0 = loadAverage();
  const stamp = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const tmp = mkdtempSync(join(tmpdir(), 'mailwarden-bench-relay-'));
  cleanup.add('remove the temp dir', () => rmSync(tmp, { recursive: true, force: true }));
  try {
    const client = loadClient();
    console.log(`bench:relay  ${MESSAGES} messages over ${SESSIONS} sessions, load client ${client.label}; load average ${load0}`);

    // Production refuses to start without a certificate: a self-signed pair, for the relay and the sinks.
    const tls = await selfSignedCertificate('relay.mailwarden.bench');
    const certFile = join(tmp, 'cert.pem');
    const keyFile = join(tmp, 'key.pem');
    writeFileSync(certFile, tls.cert);
    writeFileSync(keyFile, tls.key, { mode: 0o600 });

    const stores = await benchServices();
    cleanup.add('stop the stores', () => stores.stop());
    const mongoUri = withDatabase(stores.mongoUri, `mwbench_relay_${stamp}`);
    console.log(`stores: MongoDB API from ${stores.mongoSource} (${stores.mongoUri}), Redis ${stores.redisUrl}`);
    const queuePrefix = `{mwbench${stamp}}`;
    cleanup.add('drop the database and the Redis keys', async () => {
      const conn = await mongoose.createConnection(mongoUri, { serverSelectionTimeoutMS: 5000 }).asPromise();
      await conn.dropDatabase().finally(() => conn.close());
      const redis = new Redis(stores.redisUrl, { maxRetriesPerRequest: 2 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    });

    const world = await startChild('dns', { fork: join(__dirname, 'dns-world.js'), args: ['0', 'MIIB', SPF_INCLUDE, `${SENDER_DOMAIN},${RECIPIENT_DOMAIN}`] }, cleanup);
    let publishId = 0;
    const publish = (name: string, rrtype: PublishRequest['rrtype'], data: unknown[]) =>
      ask(world.proc, { type: 'publish', id: ++publishId, name, rrtype, data } satisfies PublishRequest, (r) =>
        (r as { id?: number }).id === publishId ? true : undefined,
      ).then(() => {});
    const sinkArgs = SINK_TLS ? [certFile, keyFile] : [certFile, keyFile, 'notls'];
    const sink = await startChild('sink', { fork: join(__dirname, 'smtp-sink.js'), args: ['sink', ...sinkArgs] }, cleanup);
    const sinkPort = Number(sink.ready.port);
    // mx mode: the recipient domain's MX is the sink (MX_PORT is the sink's port).
    await publish(RECIPIENT_DOMAIN, 'MX', [{ preference: 10, exchange: `mx.${RECIPIENT_DOMAIN}` }]);
    await publish(`mx.${RECIPIENT_DOMAIN}`, 'A', ['127.0.0.1']);

    // 1. The baseline: a bare smtp-server (STARTTLS, any AUTH, discard), same client.
    const bare = await startChild('bare', { fork: join(__dirname, 'smtp-sink.js'), args: ['bare', certFile, keyFile] }, cleanup);
    let barePid = -1;
    const bareCpu = new CpuSampler([
      { label: 'bare smtp-server', match: (pid) => pid === bare.proc.pid },
      { label: 'load client', match: (pid) => pid === barePid },
    ]);
    bareCpu.start();
    const base = await runLoad(client, { port: Number(bare.ready.port), user: 'bench', pass: 'bench', from: FROM }, MESSAGES, SESSIONS, (pid) => (barePid = pid));
    const bareReport = bareCpu.stop();
    await bare.stop();
    console.log(`bare smtp-server        ${round(base.msgsPerS)} msgs/s  p50 ${base.p50Ms} ms  p99 ${base.p99Ms} ms  (${base.ok} ok, ${base.failed} failed)`);

    // 2. The service: mx when it has it (or when asked), else smarthost.
    const w: ServiceWorld = {
      mongoUri,
      redisUrl: stores.redisUrl,
      masterKey: randomBytes(32).toString('base64'),
      adminKey: randomBytes(24).toString('hex'),
      certFile,
      keyFile,
      dataDir: join(tmp, 'data'),
      queuePrefix,
      dns: { resolverPort: Number(world.ready.resolverPort), authPort: Number(world.ready.authPort) },
      spfInclude: SPF_INCLUDE,
      sinkPort,
      httpPort: await freePort(),
      smtpPort: await freePort(),
    };
    mkdirSync(w.dataDir, { recursive: true });
    const requested = process.env.BENCH_DELIVERY_MODE as DeliveryMode | undefined;
    if (requested && requested !== 'mx' && requested !== 'smarthost') throw new Error('BENCH_DELIVERY_MODE must be mx or smarthost');
    let mode: DeliveryMode = requested ?? 'mx';
    let service = await startService(w, mode, cleanup);
    if (!service && !requested) {
      console.log('delivery mode: the service refuses DELIVERY_MODE=mx (not built yet), so smarthost (SMARTHOST_URL → the sink)');
      mode = 'smarthost';
      service = await startService(w, mode, cleanup);
    }
    if (!service) throw new Error(`the service refused DELIVERY_MODE=${mode}`);
    console.log(`delivery mode: ${mode}${mode === 'mx' ? ` (MX ${RECIPIENT_DOMAIN} → 127.0.0.1:${sinkPort})` : ` (smtp://127.0.0.1:${sinkPort})`}; sink STARTTLS ${SINK_TLS ? 'offered' : 'off'}`);
    const sender = await setUpSender(w, SENDER_DOMAIN, (name, type, data) => publish(name, type, data));

    // 3. The load, with CPU accounting per process.
    const ferret = findFerretDb(stores.mongoUri);
    let loadPid = -1;
    const groups = [
      { label: 'mailwarden all (node)', match: (pid: number) => pid === service!.proc.pid },
      { label: 'FerretDB', match: (pid: number) => pid === ferret?.pid },
      {
        label: 'PostgreSQL backends (our database)',
        match: (_p: number, cmd: string) => Boolean(ferret?.pgDatabase) && cmd.startsWith('postgres:') && cmd.includes(` ${ferret!.pgDatabase} `),
      },
      { label: 'sink', match: (pid: number) => pid === sink.proc.pid },
      { label: 'load client', match: (pid: number) => pid === loadPid },
      { label: 'DNS world', match: (pid: number) => pid === world.proc.pid },
      { label: 'this bench process', match: (pid: number) => pid === process.pid },
      { label: 'redis-server (shared)', match: (_p: number, cmd: string) => cmd.startsWith('redis-server') },
      {
        label: 'PostgreSQL other databases, aux (shared)',
        match: (_p: number, cmd: string) => cmd.startsWith('postgres:') || /\/postgres -D /.test(cmd),
      },
    ];
    const duringLoad = new CpuSampler(groups);
    const untilDelivered = new CpuSampler(groups);
    duringLoad.start();
    untilDelivered.start();
    const ours: LoadResult = await runLoad(client, { port: w.smtpPort, user: sender.username, pass: sender.password, from: FROM }, MESSAGES, SESSIONS, (pid) => (loadPid = pid));
    const loadReport = duringLoad.stop();
    console.log(`mailwarden accepted     ${round(ours.msgsPerS)} msgs/s  p50 ${ours.p50Ms} ms  p99 ${ours.p99Ms} ms  (${ours.ok} ok, ${ours.failed} failed)`);
    if (ours.ok === 0) throw new Error('the relay accepted no message');

    // 4. End to end: every accepted message at the sink, and the last one's status `delivered`.
    const marker = await sendMarker(w, sender, FROM, `user@${RECIPIENT_DOMAIN}`);
    const arrived = await waitForSink(sink, ours.ok, 1);
    const e2eReport = untilDelivered.stop();
    let markerStatus = 'unknown';
    let markerLagMs = NaN;
    const confirmDeadline = Date.now() + 30_000;
    while (Date.now() < confirmDeadline) {
      const m = await api<{ status: string; createdAt: string; deliveredAt: string | null }>(w.httpPort, sender.apiKey, 'GET', `/v1/messages/${marker}`);
      markerStatus = m.body.status;
      if (markerStatus === 'delivered') {
        markerLagMs = Date.parse(m.body.deliveredAt ?? '') - Date.parse(m.body.createdAt);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const delivered = Math.min(arrived.load, ours.ok);
    const e2eSeconds = (arrived.lastLoadAt - ours.startAt) / 1000;
    const e2e = delivered > 0 ? delivered / e2eSeconds : 0;
    console.log(
      `mailwarden end to end   ${round(e2e)} msgs/s  (${delivered} of ${ours.ok} at the sink ${round(e2eSeconds, 1)} s after the first send` +
        `${arrived.load > ours.ok ? `; ${arrived.load - ours.ok} duplicates` : ''}; ${arrived.tlsSessions}/${arrived.sessions} sink sessions over STARTTLS)`,
    );
    console.log(`final message ${marker}: ${markerStatus} via GET /v1/messages/:queueId, ${round(markerLagMs / 1000, 2)} s from accepted to delivered`);

    // 5. The policy decision from the in-process cache (DESIGN §9): a container of our own on the same database.
    const policy: number[] = [];
    {
      const env = { ...serviceEnv(w, mode), PORT: '0', SMTP_PORT: '0', LOG_LEVEL: 'silent' };
      const c = await createContainer(loadConfig(env), createLogger('silent'));
      const relay = await c.start('relay');
      try {
        for (let i = 0; i < 20000; i++) {
          const t = process.hrtime.bigint();
          await relay.policy.decide(sender.domainId);
          policy.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      } finally {
        await relay.close();
        await c.close();
      }
    }
    console.log(`policy decision         p50 ${round(median(policy), 4)} ms  p99 ${round(percentile(policy, 99), 4)} ms  (in-process cache; target p99 < 1 ms)`);

    await service.stop(20_000);
    await sink.stop();
    await world.stop();

    // 6. Postfix, when installed, with the same client.
    const pf: PostfixRun | string = await runPostfixAnchor(client, MESSAGES, SESSIONS, cleanup);
    const load1 = loadAverage();

    const pfRate = typeof pf === 'string' ? null : pf.load.msgsPerS;
    const pfE2e = typeof pf === 'string' || pf.drainedAt === null ? null : pf.load.ok / ((pf.drainedAt - pf.load.startAt) / 1000);
    console.log('\nsystem                                      accepted/s   p50 ms   p99 ms   end to end/s');
    const row = (name: string, r: LoadResult, end: string) =>
      console.log(`${name.padEnd(44)}${String(round(r.msgsPerS)).padStart(10)}${String(r.p50Ms).padStart(9)}${String(r.p99Ms).padStart(9)}${end.padStart(15)}`);
    row('bare smtp-server (STARTTLS+AUTH, discard)', base, '—');
    row(`mailwarden all (${mode} → sink)`, ours, String(round(e2e)));
    if (typeof pf === 'string') console.log(`Postfix: skipped: ${pf}`);
    else row(`Postfix ${pf.version} (queue → smtp-sink)`, pf.load, pfE2e === null ? 'n/a' : String(round(pfE2e)));
    console.log(`load average: ${load0} before, ${load1} after (2 cores, shared with other work)`);

    printCpuTable(
      `CPU seconds per process, mailwarden run (${round(loadReport.seconds, 1)} s of load; ${round(e2eReport.seconds, 1)} s until the sink had every message)`,
      [
        { head: 'during the load', r: loadReport },
        { head: 'until delivered', r: e2eReport },
      ],
      delivered,
    );
    console.log(`bare run: server ${round(bareReport.groups[0].cpuS, 1)} s, load client ${round(bareReport.groups[1].cpuS, 1)} s CPU over ${round(bareReport.seconds, 1)} s`);
    if (typeof pf !== 'string') {
      console.log(`Postfix run: ${pf.cpu.groups.map((g) => `${g.label} ${round(g.cpuS, 1)} s`).join(', ')} CPU over ${round(pf.cpu.seconds, 1)} s`);
    }

    const na = (v: number | null, d = 2) => (v === null ? 'n/a' : round(v, d));
    result('relay', {
      accept_per_s: round(ours.msgsPerS),
      e2e_per_s: round(e2e),
      p99_ms: ours.p99Ms,
      bare_per_s: round(base.msgsPerS),
      postfix_per_s: na(pfRate),
      e2e_vs_postfix: pfRate ? round(e2e / pfRate, 3) : 'n/a',
      mode,
      p50_ms: ours.p50Ms,
      failed: ours.failed,
      delivered: `${delivered}/${ours.ok}`,
      postfix_e2e_per_s: na(pfE2e),
      policy_p99_ms: round(percentile(policy, 99), 4),
      load1: load0.split(' ')[0],
    });
  } finally {
    await cleanup.run();
  }
}

runBench(main);
