import dns from 'node:dns';
import request from 'supertest';
import { allowlistChannel } from '../../src/events/change-notifier';
import { FixedWindowLimiter } from '../../src/limits/fixed-window-limiter';
import { createLogger } from '../../src/logger';
import { JobProducer } from '../../src/queue/producers';
import { AllowlistCache } from '../../src/relay/allowlist-cache';
import { InvalidationSubscriber } from '../../src/relay/invalidation-subscriber';
import { PolicyCache } from '../../src/relay/policy-cache';
import { startRelayServer, type RunningRelay } from '../../src/relay/relay.server';
import { RelayService } from '../../src/relay/relay.service';
import { tlsSource } from '../../src/relay/tls';
import { SendingPolicy } from '../../src/sending-policy/sending-policy.service';
import { SuppressionCache } from '../../src/relay/suppression-cache';
import { SendingQuota } from '../../src/limits/sending-quota';
import { TestDnsServer } from '../support/dns-server';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpTestClient } from '../support/smtp-client';
import { eventually } from '../support/eventually';

const WITHDRAWN = '421 4.7.0 Authorization withdrawn, closing connection';

/** Polls `fn` until it gives a value (the relay learns of changes over pub/sub). */
const until = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> =>
  eventually(fn, { until: (v) => v !== undefined, message: what }) as Promise<T>;

/** The greeting a fresh connection from `from` gets. */
async function greetingFor(port: number, from: { host?: string; localAddress?: string }): Promise<string> {
  const { client, greeting } = await SmtpTestClient.connect(port, from);
  // A refused client is hung up on; a QUIT to it would only wait for a reply that never comes.
  if (greeting.code !== 220) await client.whenClosed();
  await client.quit();
  return greeting.raw;
}

const waitForGreeting = (port: number, from: { host?: string; localAddress?: string }, code: number) =>
  until(`a ${code} greeting for ${JSON.stringify(from)}`, async () => {
    const raw = await greetingFor(port, from);
    return raw.startsWith(`${code} `) ? raw : undefined;
  });

async function putAllowlist(c: TestContainer, acct: TestAccount, domainId: string, cidrs: string[]) {
  await request(c.http).put(`/v1/domains/${domainId}/allowed-ips`).set(acct.auth).send({ cidrs }).expect(200);
}

async function newUser(c: TestContainer, acct: TestAccount, domainId: string): Promise<{ username: string; password: string }> {
  return (await request(c.http).post(`/v1/domains/${domainId}/smtp-users`).set(acct.auth).send({}).expect(201)).body;
}

describe('relay allowlist over real sockets (dual-stack listener, SMTP_MAX_CLIENTS=4)', () => {
  let c: TestContainer;
  let relay: RunningRelay;
  let acct: TestAccount;
  let d1: { id: string };
  let d2: { id: string };

  beforeAll(async () => {
    // Listening on '::' makes IPv4 clients arrive as IPv4-mapped IPv6 (::ffff:127.0.0.1).
    c = await createTestContainer({ SMTP_PORT: '0', SMTP_HOST: '::', SMTP_MAX_CLIENTS: '4' });
    relay = await c.start('relay');
    acct = await createAccount(c.http);
    d1 = await registerDomain(c.http, acct, 'one.example.com', 'ed25519');
    d2 = await registerDomain(c.http, acct, 'two.example.com', 'ed25519');
    await putAllowlist(c, acct, d1.id, ['127.0.0.1/32', '127.0.0.2/32']);
    await putAllowlist(c, acct, d2.id, ['127.0.0.2/32']);
    await waitForGreeting(relay.port, { localAddress: '127.0.0.2' }, 220);
  });
  afterAll(async () => {
    await relay.close();
    await c.dispose();
  });

  async function session(user: { username: string; password: string }, localAddress: string): Promise<SmtpTestClient> {
    const { client, greeting } = await SmtpTestClient.connect(relay.port, { localAddress });
    expect(greeting.code).toBe(220);
    expect((await client.login(user.username, user.password)).code).toBe(235);
    return client;
  }

  it('answers an address no configuration allows with 554 5.7.1 Access denied: IPv4-mapped and IPv6 clients alike', async () => {
    expect(await greetingFor(relay.port, { localAddress: '127.0.0.9' })).toBe('554 5.7.1 Access denied');
    expect(await greetingFor(relay.port, { host: '::1' })).toBe('554 5.7.1 Access denied');
    expect(await greetingFor(relay.port, { localAddress: '127.0.0.1' })).toMatch(/^220 \S+ ESMTP mailwarden$/);
  });

  it('greets without a reverse DNS lookup of the client', async () => {
    // smtp-server looks names up through node:dns's default resolver; point it at a test server that logs.
    const ptr = await TestDnsServer.start({ mode: 'resolver' });
    const servers = dns.getServers();
    try {
      ptr.set('1.0.0.127.in-addr.arpa', 'PTR', ['client.example.net']);
      ptr.set('9.0.0.127.in-addr.arpa', 'PTR', ['refused.example.net']);
      dns.setServers([`127.0.0.1:${ptr.port}`]);
      expect(await greetingFor(relay.port, { localAddress: '127.0.0.1' })).toMatch(/^220 /);
      expect(await greetingFor(relay.port, { localAddress: '127.0.0.9' })).toBe('554 5.7.1 Access denied');
      expect(ptr.log.filter((q) => q.type === 'PTR')).toEqual([]);
    } finally {
      dns.setServers(servers);
      await ptr.close();
    }
  });

  it('lets an IPv6 client in once its network is added, and refuses it again once removed', async () => {
    const d3 = await registerDomain(c.http, acct, 'three.example.com', 'ed25519');
    await putAllowlist(c, acct, d3.id, ['::1/128']);
    await waitForGreeting(relay.port, { host: '::1' }, 220);
    await putAllowlist(c, acct, d3.id, []);
    expect(await waitForGreeting(relay.port, { host: '::1' }, 554)).toBe('554 5.7.1 Access denied');
  });

  it('answers 421 to the connection over SMTP_MAX_CLIENTS, and lets one in again when a slot frees', async () => {
    const open: SmtpTestClient[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const { client, greeting } = await SmtpTestClient.connect(relay.port, { localAddress: '127.0.0.1' });
        expect(greeting.code).toBe(220);
        open.push(client);
      }
      const { client: extra, greeting } = await SmtpTestClient.connect(relay.port, { localAddress: '127.0.0.1' });
      expect(greeting.code).toBe(421);
      await extra.whenClosed();
      await open.pop()!.quit();
      await waitForGreeting(relay.port, { localAddress: '127.0.0.1' }, 220);
    } finally {
      for (const client of open) await client.quit();
    }
  });

  it('closes the sessions of a deleted SMTP user with 421 4.7.0, and leaves the other users sessions open', async () => {
    const doomed = await newUser(c, acct, d1.id);
    const kept = await newUser(c, acct, d1.id);
    const a = await session(doomed, '127.0.0.1');
    const b = await session(doomed, '127.0.0.2');
    const other = await session(kept, '127.0.0.1');
    try {
      await request(c.http).delete(`/v1/domains/${d1.id}/smtp-users/${doomed.username}`).set(acct.auth).expect(204);
      expect((await a.next()).raw).toBe(WITHDRAWN);
      expect((await b.next()).raw).toBe(WITHDRAWN);
      await a.whenClosed();
      await b.whenClosed();
      expect((await other.command('NOOP')).code).toBe(250);
      const again = await SmtpTestClient.connect(relay.port, { localAddress: '127.0.0.1' });
      expect((await again.client.login(doomed.username, doomed.password)).raw).toBe('535 5.7.8 Authentication failed');
      await again.client.quit();
    } finally {
      await Promise.all([a.quit(), b.quit(), other.quit()]);
    }
  });

  it('closes a session whose address its domain no longer allows, even when another domain still allows it', async () => {
    const u1 = await newUser(c, acct, d1.id);
    const u2 = await newUser(c, acct, d2.id);
    const leaving = await session(u1, '127.0.0.2');
    const staying = await session(u1, '127.0.0.1');
    const otherDomain = await session(u2, '127.0.0.2');
    try {
      await putAllowlist(c, acct, d1.id, ['127.0.0.1/32']);
      expect((await leaving.next()).raw).toBe(WITHDRAWN);
      await leaving.whenClosed();
      expect((await staying.command('NOOP')).code).toBe(250);
      expect((await otherDomain.command('NOOP')).code).toBe(250);
      // 127.0.0.2 still connects (d2 allows it) but can no longer log in as d1's user.
      const again = await SmtpTestClient.connect(relay.port, { localAddress: '127.0.0.2' });
      expect(again.greeting.code).toBe(220);
      expect((await again.client.login(u1.username, u1.password)).raw).toBe('535 5.7.8 Authentication failed');
      await again.client.quit();
    } finally {
      await Promise.all([leaving.quit(), staying.quit(), otherDomain.quit()]);
      await putAllowlist(c, acct, d1.id, ['127.0.0.1/32', '127.0.0.2/32']);
    }
  });

  it('closes the sessions of a deleted domain', async () => {
    const d4 = await registerDomain(c.http, acct, 'four.example.com', 'ed25519');
    await putAllowlist(c, acct, d4.id, ['127.0.0.3/32']);
    await waitForGreeting(relay.port, { localAddress: '127.0.0.3' }, 220);
    const s = await session(await newUser(c, acct, d4.id), '127.0.0.3');
    try {
      await request(c.http).delete(`/v1/domains/${d4.id}`).set(acct.auth).expect(204);
      expect((await s.next()).raw).toBe(WITHDRAWN);
      await s.whenClosed();
    } finally {
      await s.quit();
    }
  });
});

describe('relay allowlist: a network removed while a full reload was reading does not come back', () => {
  let c: TestContainer;
  let subscriber: InvalidationSubscriber;
  let relay: RunningRelay;

  afterAll(async () => {
    await relay?.close();
    await subscriber?.close();
    await c?.dispose();
  });

  it('refuses the removed address with 554 5.7.1 after the stale reload finishes', async () => {
    c = await createTestContainer();
    const logger = createLogger('silent');
    const acct = await createAccount(c.http);
    const d = await registerDomain(c.http, acct, 'race.example.com', 'ed25519');
    await putAllowlist(c, acct, d.id, ['127.0.0.1/32', '127.0.0.5/32']);

    // The relay's parts as the container wires them, except that the full reload reads
    // the real database and then waits for the test before it applies what it read.
    let holdFullReload = false;
    let readDone!: () => void;
    let release!: () => void;
    const read = new Promise<void>((r) => (readDone = r));
    const released = new Promise<void>((r) => (release = r));
    const allowlist = new AllowlistCache(
      async () => {
        const all = await c.stores.domains.findAllowlists();
        if (holdFullReload) {
          readDone();
          await released;
        }
        return all;
      },
      async (id) => (await c.stores.domains.findById(id))?.allowedIps ?? null,
    );
    subscriber = new InvalidationSubscriber(c.redis.duplicate(), logger);
    const reloads: Array<Promise<void>> = [];
    subscriber.on(allowlistChannel(c.config.queuePrefix), (id) => void reloads.push(allowlist.reload(id)), () => {});
    await subscriber.subscribe();
    await allowlist.refresh();
    const prefix = c.config.queuePrefix;
    const service = new RelayService(
      c.stores.smtpUsers,
      c.messages,
      new JobProducer(c.queues, { deliveryRetryBaseMs: 1000, deliveryMaxAgeMs: 3600_000, webhookRetryBaseMs: 1000 }),
      new PolicyCache((id) => new SendingPolicy(c.stores.domains, c.config.sendingLimits).forDomain(id), () => subscriber.live, c.clock),
      allowlist,
      new FixedWindowLimiter(c.redis, prefix),
      new SuppressionCache((accountId, address) => c.services.suppressions.lookup(accountId, address), () => subscriber.live, c.clock),
      new SendingQuota(c.redis, prefix),
      c.clock,
      logger,
      { maxAuthFailures: 5, maxUsernameFailures: 20, authFailureWindowMs: 60_000, maxRecipients: 50, redisDeadlineMs: 2000 },
    );
    const tls = tlsSource({}, 'relay.test', logger);
    relay = await startRelayServer(
      service,
      { host: '127.0.0.1', port: 0, hostname: 'relay.test', maxMessageBytes: 4096, maxConnectionsPerIp: 50, maxClients: 100, tls },
      logger,
    );
    expect(await greetingFor(relay.port, { localAddress: '127.0.0.5' })).toMatch(/^220 /);

    holdFullReload = true;
    const stale = allowlist.refresh();
    await read; // it has read both networks
    await putAllowlist(c, acct, d.id, ['127.0.0.1/32']);
    await until('the invalidation to be applied', async () => {
      await Promise.all(reloads);
      return allowlist.anyAllows('127.0.0.5') ? undefined : true;
    });
    expect(await greetingFor(relay.port, { localAddress: '127.0.0.5' })).toBe('554 5.7.1 Access denied');
    release();
    await stale;
    expect(await greetingFor(relay.port, { localAddress: '127.0.0.5' })).toBe('554 5.7.1 Access denied');
    expect(await greetingFor(relay.port, { localAddress: '127.0.0.1' })).toMatch(/^220 /);
  });
});
