import request from 'supertest';
import type { RunningRelayRole } from '../../src/container';
import { createAccount, registerDomain, type TestAccount } from './factories';
import { createTestContainer, type TestContainer, type TestContainerOptions } from './services';
import { eventually } from './eventually';
import { SmtpTestClient } from './smtp-client';

/** A running relay with one verified, approved domain and one SMTP user. */
export interface RelayFixture {
  c: TestContainer;
  relay: RunningRelayRole;
  acct: TestAccount;
  domain: { id: string; domain: string };
  username: string;
  password: string;
  /** A sender address of the fixture's domain. */
  from: string;
  close(): Promise<void>;
}

/**
 * Starts a relay on 127.0.0.1 (port 0) for sender.example.com, whose allowed networks are
 * `cidrs` (default 127.0.0.0/24: tests can bind any 127.0.0.x as a distinct client), and
 * waits until the allowlist lets `cidrs`' first address in. `options` go to the container
 * (a ManualClock, for one).
 */
export async function startRelayFixture(
  overrides: Record<string, string> = {},
  cidrs: string[] = ['127.0.0.0/24'],
  clientIp = '127.0.0.1',
  options: TestContainerOptions = {},
): Promise<RelayFixture> {
  const c = await createTestContainer({ SMTP_PORT: '0', SMTP_HOST: '127.0.0.1', ...overrides }, options);
  const relay = await c.start('relay');
  const acct = await createAccount(c.http);
  const domain = await registerDomain(c.http, acct, 'sender.example.com', 'ed25519');
  await request(c.http).put(`/v1/domains/${domain.id}/allowed-ips`).set(acct.auth).send({ cidrs }).expect(200);
  const user = await request(c.http).post(`/v1/domains/${domain.id}/smtp-users`).set(acct.auth).send({}).expect(201);
  await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved' }, $inc: { version: 1 } });
  await c.redis.publish(`${c.config.queuePrefix}:policy-invalidate`, JSON.stringify({ domainId: domain.id }));
  await waitForAllowlist(relay.port, clientIp);
  return {
    c,
    relay,
    acct,
    domain,
    username: user.body.username,
    password: user.body.password,
    from: 'app@sender.example.com',
    async close() {
      await relay.close();
      await c.dispose();
    },
  };
}

/** The allowlist travels over pub/sub: waits until a connection from `ip` is let in. */
export async function waitForAllowlist(port: number, ip: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { client, greeting } = await SmtpTestClient.connect(port, { localAddress: ip });
    await client.quit();
    if (greeting.code === 220) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the allowlist never let ${ip} in`);
}

/** A connected session from `ip` that got its 220 greeting. */
export async function relaySession(port: number, ip = '127.0.0.1'): Promise<SmtpTestClient> {
  const { client, greeting } = await SmtpTestClient.connect(port, { localAddress: ip });
  if (greeting.code !== 220) throw new Error(`greeting from the relay: ${greeting.raw}`);
  return client;
}

/**
 * A connection to the relay once the allowlist lets this address in: an allowlist change
 * reaches the relay over pub/sub, so the first connections may still be refused (554).
 */
export function admittedSession(port: number): Promise<Awaited<ReturnType<typeof SmtpTestClient.connect>>> {
  return eventually(
    async () => {
      const conn = await SmtpTestClient.connect(port);
      if (conn.greeting.code === 220) return conn;
      await conn.client.quit();
      throw new Error(`greeted with ${conn.greeting.raw}`);
    },
    { message: 'the allowlist to reach the relay' },
  );
}

/** A plain one-part message from `from`. */
export const plainMessage = (from: string) => `From: Sender <${from}>\r\nTo: rcpt@dest.example\r\nSubject: hello\r\n\r\nHello there.\r\n`;
