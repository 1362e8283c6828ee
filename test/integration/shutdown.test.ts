import type { ChildProcess } from 'node:child_process';
import mongoose from 'mongoose';
import { startChildService, waitForLine } from '../support/child-service';
import { TcpProxy } from '../support/tcp-proxy';
import { testEnv, uniqueName } from '../support/services';

/** The child's exit, or null if it has not exited within `ms` (generous: this is not a timing). */
function exitWithin(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: string | null } | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    const t = setTimeout(() => resolve(null), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

/** `uri` with its host and port replaced by the proxy's. */

describe('graceful shutdown (mailwarden all in a child process)', () => {
  let redisProxy: TcpProxy;
  let mongoProxy: TcpProxy;
  const children: ChildProcess[] = [];
  const dbName = uniqueName('shutdown');
  const mongoUri = (() => {
    const u = new URL(process.env.MW_TEST_MONGODB_URI!);
    u.pathname = `/${dbName}`;
    return u.toString();
  })();

  beforeEach(async () => {
    const redis = new URL(process.env.MW_TEST_REDIS_URL!);
    const mongo = new URL(process.env.MW_TEST_MONGODB_URI!);
    redisProxy = await TcpProxy.start(redis.hostname, Number(redis.port || 6379));
    mongoProxy = await TcpProxy.start(mongo.hostname, Number(mongo.port || 27017));
  });

  afterEach(async () => {
    await redisProxy.close();
    await mongoProxy.close();
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const conn = await mongoose.createConnection(mongoUri).asPromise();
    await conn.dropDatabase().catch(() => {});
    await conn.close();
  });

  /** `mailwarden all` on both stores through the proxies, once it has logged that it started. */
  async function startAll(graceMs: number) {
    const env = testEnv({
      PATH: process.env.PATH,
      MONGODB_URI: mongoProxy.uri(mongoUri),
      REDIS_URL: redisProxy.uri(process.env.MW_TEST_REDIS_URL!),
      HOST: '127.0.0.1',
      PORT: '0',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '0',
      BOUNCE_SMTP_PORT: '0',
      LOG_LEVEL: 'info',
      SWEEP_INTERVAL_MS: '200',
      SHUTDOWN_GRACE_MS: String(graceMs),
    });
    const started = startChildService('all', env);
    children.push(started.child);
    // Generous: the child compiles the sources on load, on a shared 2-core machine.
    await waitForLine(started, /"msg":"mailwarden started"/, 90_000);
    return started;
  }

  it.each([
    ['Redis is', false],
    ['MongoDB and Redis are', true],
  ])('exits after SIGTERM, at the grace deadline, when %s already gone', async (_what, cutMongo) => {
    const { child, lines } = await startAll(2000);
    redisProxy.cut();
    if (cutMongo) mongoProxy.cut();
    // Stop only once the service has seen Redis go: the case where it used to hang.
    await waitForLine({ child, lines }, /"msg":"(queue )?redis connection error"/, 60_000);
    child.kill('SIGTERM');
    const exit = await exitWithin(child, 30_000);

    expect(exit).not.toBeNull();
    // It exits by itself (1 when the deadline forced it), never by a signal.
    expect(exit!.signal).toBeNull();
    expect([0, 1]).toContain(exit!.code);
    const log = lines.join('\n');
    if (exit!.code === 1) expect(log).toMatch(/"abandoned":\["/);
    expect(log).toMatch(/"msg":"stopped"/);
  }, 150_000);

  it('exits 0 after SIGTERM when everything closes in time', async () => {
    const { child, lines } = await startAll(60_000);
    child.kill('SIGTERM');
    const exit = await exitWithin(child, 90_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(lines.join('\n')).toMatch(/"forced":false,"msg":"stopped"/);
  }, 200_000);
});
