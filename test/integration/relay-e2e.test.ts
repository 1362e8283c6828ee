import { Resolver } from 'node:dns/promises';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import request from 'supertest';
import type { RunningRelay } from '../../src/relay/relay.server';
import type { RunningWorkers } from '../../workers';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { admittedSession } from '../support/relay-fixture';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpTestClient } from '../support/smtp-client';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

const INCLUDE = '_spf.mw.test';

describe('end to end: register, publish, verify, relay over STARTTLS, DKIM-sign, deliver', () => {
  let dns: DnsFixture;
  let sink: SmtpSink;
  let c: TestContainer;
  let workers: RunningWorkers;
  let relay: RunningRelay;
  let acct: TestAccount;

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    sink = await SmtpSink.start();
    c = await createTestContainer(
      {
        ...dns.fastLifecycleEnv(INCLUDE),
        RECHECK_INTERVAL_MS: '300',
        CONFIRM_DELAY_MS: '400',
        APPROVAL_MODE: 'auto',
        SMTP_PORT: '0',
        SMTP_HOST: '127.0.0.1',
        ...smarthostEnv(sink),
        DELIVERY_RETRY_BASE_MS: '200',
      },
      { jitter: (ms) => ms },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 4 } });
    relay = await c.start('relay');
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await relay.close();
    await workers.close();
    await c.dispose();
    await sink.close();
    await dns.close();
  });

  it('a message from a verified domain arrives at the smarthost signed with the key DNS serves', async () => {
    const d = await registerDomain(c.http, acct, 'shop.example.test');
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await eventually(async () => (await request(c.http).get(`/v1/domains/${d.id}`).set(acct.auth)).body, {
      until: (x) => x.sending?.allowed === true,
      message: 'the domain to verify',
    });
    await request(c.http).put(`/v1/domains/${d.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['127.0.0.1'] }).expect(200);
    const user = (await request(c.http).post(`/v1/domains/${d.id}/smtp-users`).set(acct.auth).send({}).expect(201)).body;

    const { client, greeting } = await admittedSession(relay.port);
    expect(greeting.code).toBe(220);
    await client.ehlo();
    expect((await client.starttls()).code).toBe(220);
    await client.ehlo();
    expect((await client.authLogin(user.username, user.password)).code).toBe(235);
    const reply = await client.send('app@shop.example.test', ['someone@dest.example'], 'From: App <app@shop.example.test>\r\nTo: someone@dest.example\r\nSubject: order 42\r\n\r\nYour order shipped.\r\n');
    expect(reply.raw).toMatch(/^250 2\.0\.0 Ok: queued as /);
    const queueId = reply.text.split(' ').pop()!;
    await client.quit();

    const message = await eventually(async () => (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/messages/${queueId}`).set(acct.auth))).body, {
      until: (m) => m.status === 'delivered',
      message: 'the message to be delivered',
    });
    expect(message.attempts).toHaveLength(1);
    const received = sink.to('someone@dest.example');
    expect(received).toHaveLength(1);
    expect(received[0].from).toBe('app@shop.example.test');

    // Verify the DKIM signature against the record the test DNS server actually serves.
    const resolver = new Resolver();
    resolver.setServers([dns.resolverAddress]);
    const result = await dkimVerify(received[0].raw, { resolver: (name: string, rr: string) => (rr === 'TXT' ? resolver.resolveTxt(name) : resolver.resolve(name, rr as never)) } as never);
    const sig = result.results[0];
    expect(sig.status.result).toBe('pass');
    expect(sig.signingDomain).toBe('shop.example.test');
    expect(sig.selector).toBe(d.records[1].selector);

    // Withdraw the records: once suspended, the relay refuses the domain.
    for (const r of d.records) dns.unpublish(r.name, 'TXT');
    await eventually(async () => (await request(c.http).get(`/v1/domains/${d.id}`).set(acct.auth)).body, {
      until: (x) => x.status === 'suspended',
      message: 'the domain to be suspended',
    });
    const again = await SmtpTestClient.connect(relay.port);
    await again.client.login(user.username, user.password);
    const refused = await eventually(
      async () => {
        const r = await again.client.command('MAIL FROM:<app@shop.example.test>');
        if (r.code === 250) await again.client.command('RSET');
        return r;
      },
      { until: (r) => r.code === 550, timeoutMs: 2000, message: 'the relay to refuse' },
    );
    expect(refused.raw).toMatch(/^550 5\.7\.1 Sending suspended for shop\.example\.test: /);
    await again.client.quit();
  });
});
