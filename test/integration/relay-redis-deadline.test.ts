import { plainMessage, relaySession, startRelayFixture, type RelayFixture } from '../support/relay-fixture';
import { TcpProxy, type RedisProxy } from '../support/tcp-proxy';

const TEMPORARY = '451 4.3.0 Temporary failure, try again later';

/**
 * Redis that hangs (connected, answering nothing) on the accept path. The client's own
 * reply wait is 10 s, so a relay without a deadline fails these tests by never answering.
 */
describe('SMTP relay when Redis stalls: every Redis call on the accept path has a deadline', () => {
  let proxy: RedisProxy;
  let f: RelayFixture;

  beforeAll(async () => {
    proxy = await TcpProxy.toTestRedis();
    f = await startRelayFixture({ REDIS_URL: proxy.redisUrl });
  });
  afterEach(() => proxy.restore());
  afterAll(async () => {
    await f.close();
    await proxy.close();
  });

  const spooled = () => f.c.mongo.collection('messages').countDocuments({ domainId: f.domain.id } as never);

  it('answers DATA with 451 4.3.0 and keeps no spooled copy when the delivery enqueue gets no answer', async () => {
    const client = await relaySession(f.relay.port);
    expect((await client.login(f.username, f.password)).code).toBe(235);
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<rcpt@dest.example>')).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    proxy.stall();
    expect((await client.body(plainMessage(f.from))).raw).toBe(TEMPORARY);
    expect(await spooled()).toBe(0);

    // Redis answers again (the enqueue that timed out may land now, for a message that is
    // gone): the resend is accepted, and it is the one spooled copy.
    proxy.restore();
    expect((await client.send(f.from, ['rcpt@dest.example'], plainMessage(f.from))).code).toBe(250);
    expect(await spooled()).toBe(1);
    await client.quit();
  });

  it('answers AUTH with 451 4.3.0 when the lockout counters get no answer', async () => {
    const client = await relaySession(f.relay.port);
    await client.ehlo();
    await client.starttls();
    await client.ehlo();
    proxy.stall();
    expect((await client.authPlain(f.username, f.password)).raw).toBe(TEMPORARY);
    proxy.restore();
    expect((await client.authPlain(f.username, f.password)).code).toBe(235);
    await client.quit();
  });
});
