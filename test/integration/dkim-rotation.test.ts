import request from 'supertest';
import type { RunningRelayRole, RunningWorkerRole } from '../../src/container';
import { verifyDkim } from '../support/dkim-verify';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { relaySession, waitForAllowlist } from '../support/relay-fixture';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

const INCLUDE = '_spf.mw.test';
const RETIRE_AFTER_MS = 5000;

/** A container checking against `dns` quickly, with `overrides`. */
function rotationContainer(dns: DnsFixture, overrides: Record<string, string> = {}) {
  return createTestContainer(
    {
      ...dns.fastLifecycleEnv(INCLUDE),
      RECHECK_INTERVAL_MS: '300',
      CONFIRM_DELAY_MS: '300',
      APPROVAL_MODE: 'auto',
      DKIM_RETIRE_AFTER_MS: String(RETIRE_AFTER_MS),
      ...overrides,
    },
    { jitter: (ms) => ms },
  );
}

/**
 * The world of one describe: DNS, an SMTP sink as the smarthost, a container with workers,
 * an account, and the domain resource read through the API.
 */
function rotationWorld(overrides: Record<string, string> = {}) {
  const w = {} as { dns: DnsFixture; sink: SmtpSink; c: TestContainer; workers: RunningWorkerRole; acct: TestAccount };
  beforeAll(async () => {
    w.dns = await DnsFixture.start(['example.test', 'mw.test']);
    w.dns.publish(INCLUDE, 'TXT', ['v=spf1 ip4:192.0.2.0/24 -all']);
    w.sink = await SmtpSink.start();
    w.c = await rotationContainer(w.dns, {
      ...smarthostEnv(w.sink),
      DELIVERY_RETRY_BASE_MS: '200',
      SMTP_PORT: '0',
      SMTP_HOST: '127.0.0.1',
      ...overrides,
    });
    w.workers = await w.c.start('worker', { workers: { dnsConcurrency: 4 } });
    w.acct = await createAccount(w.c.http);
  });
  afterAll(async () => {
    await w.workers.close();
    await w.c.dispose();
    await w.sink.close();
    await w.dns.close();
  });
  const get = async (id: string): Promise<any> =>
    (await expectMatchesDocument(w.c.http, await request(w.c.http).get(`/v1/domains/${id}`).set(w.acct.auth).expect(200))).body;
  return {
    w,
    get,
    when: (id: string, pred: (d: any) => boolean, what: string) => eventually(() => get(id), { until: pred, message: what }),
    publish: (r: { name: string; strings: string[] }) => w.dns.publish(r.name, 'TXT', [r.strings]),
    register: async (name: string, algorithm: string) => {
      const d = await registerDomain(w.c.http, w.acct, name, algorithm);
      for (const r of d.records) w.dns.publish(r.name, 'TXT', [r.strings]);
      return d;
    },
    rotate: (id: string, body?: object) => request(w.c.http).post(`/v1/domains/${id}/dkim/rotate`).set(w.acct.auth).send(body),
    cancel: (id: string) => request(w.c.http).delete(`/v1/domains/${id}/dkim/rotation`).set(w.acct.auth),
    /** The event types of a domain once its outbox is empty and `expected` are there. */
    events: async (id: string, expected: number) =>
      eventually(
        async () => ({ outbox: (await w.c.stores.domains.findById(id))?.outbox, events: await w.c.events.listForDomain(id) }),
        { until: (x) => x.outbox?.length === 0 && x.events.length >= expected, message: `the events of ${id}` },
      ).then((x) => x.events),
  };
}

/** The DKIM records of a domain resource by selector. */
const dkimOf = (d: any, selector: string) => d.records.find((r: any) => r.purpose === 'dkim' && r.selector === selector);
const dkimStates = (d: any) => d.records.filter((r: any) => r.purpose === 'dkim').map((r: any) => `${r.selector}:${r.state}`);

describe('DKIM key rotation, end to end: checks, relay, delivery and mailauth', () => {
  const world = rotationWorld();
  const { w, when } = world;
  let relay: RunningRelayRole;

  beforeAll(async () => {
    relay = await w.c.start('relay');
  });
  afterAll(async () => {
    await relay.close();
  });

  /** Sends one message through the relay and returns it as the sink received it, once delivered. */
  async function sendOne(user: { username: string; password: string }, to: string): Promise<Buffer> {
    const client = await relaySession(relay.port);
    expect((await client.login(user.username, user.password)).code).toBe(235);
    const reply = await client.send('app@rotate.example.test', [to], `From: App <app@rotate.example.test>\r\nTo: ${to}\r\nSubject: key check\r\n\r\nSigned with which key?\r\n`);
    await client.quit();
    expect(reply.raw).toMatch(/^250 2\.0\.0 Ok: queued as /);
    return (await eventually(() => w.sink.to(to), { until: (r) => r.length === 1, message: `mail to ${to}` }))[0].raw;
  }

  /** The selectors whose signatures pass, verified against the keys DNS serves now. */
  const passingSelectors = async (raw: Buffer) => (await verifyDkim(w.dns, raw)).filter((v) => v.result === 'pass' && v.signingDomain === 'rotate.example.test').map((v) => v.selector);

  it('pending → active → retiring → retired, signing with the right key at each step, never suspending', async () => {
    const d = await world.register('rotate.example.test', 'rsa-1024');
    const a = d.records.find((r: any) => r.purpose === 'dkim');
    expect(a).toMatchObject({ state: 'active', safeToRemove: false });
    await when(d.id, (x) => x.sending.allowed, 'the domain to verify');
    await request(w.c.http).put(`/v1/domains/${d.id}/allowed-ips`).set(w.acct.auth).send({ cidrs: ['127.0.0.1'] }).expect(200);
    const user = (await request(w.c.http).post(`/v1/domains/${d.id}/smtp-users`).set(w.acct.auth).send({}).expect(201)).body;
    await waitForAllowlist(relay.port, '127.0.0.1');
    expect(await passingSelectors(await sendOne(user, 'before@dest.example'))).toEqual([a.selector]);

    // Start: a new selector, pending; the key is never shown, only its record.
    const started = await expectMatchesDocument(w.c.http, await world.rotate(d.id).expect(202));
    const b = started.body.records.find((r: any) => r.purpose === 'dkim' && r.selector !== a.selector);
    expect(b).toMatchObject({ state: 'pending', safeToRemove: false, algorithm: 'rsa-1024', status: 'pending', name: `${b.selector}._domainkey.rotate.example.test` });
    expect(b.value).not.toBe(a.value);
    expect(JSON.stringify(started.body)).not.toMatch(/PRIVATE KEY/);
    // At most one rotation in flight.
    const second = await expectMatchesDocument(w.c.http, await world.rotate(d.id).expect(409));
    expect(second.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(second.body.detail).toMatch(new RegExp(`selector ${b.selector} is pending`));

    // Not published yet: the new record fails, the domain stays verified and mail is signed with the old key.
    const failing = await when(d.id, (x) => dkimOf(x, b.selector).status === 'fail', 'the pending record to be checked');
    expect(failing.status).toBe('verified');
    expect(dkimStates(failing)).toEqual([`${a.selector}:active`, `${b.selector}:pending`]);
    expect(await passingSelectors(await sendOne(user, 'pending@dest.example'))).toEqual([a.selector]);

    // Published everywhere: active, and the old one retires.
    world.publish(b);
    const active = await when(d.id, (x) => dkimOf(x, b.selector).state === 'active', 'the new selector to be active');
    expect(dkimOf(active, a.selector)).toMatchObject({ state: 'retiring', safeToRemove: false, retiresAt: expect.any(String) });
    expect(await passingSelectors(await sendOne(user, 'active@dest.example'))).toEqual([b.selector]);

    // The owner removes the old record early: it fails while retiring, and the domain is not suspended.
    w.dns.unpublish(a.name, 'TXT');
    const gone = await when(d.id, (x) => dkimOf(x, a.selector).status === 'fail', 'the retiring record to fail');
    expect(dkimOf(gone, a.selector).state).toBe('retiring');
    const retired = await when(d.id, (x) => dkimOf(x, a.selector).state === 'retired', 'the old selector to retire');
    expect(dkimOf(retired, a.selector)).toMatchObject({ safeToRemove: true });
    expect(retired.status).toBe('verified');
    const history = await w.c.checks.listForDomain(w.acct.id, d.id, 500);
    expect(history.filter((h) => h.records.some((r) => r.selector === a.selector && r.status === 'fail')).length).toBeGreaterThan(0);
    expect(history.map((h) => h.statusAfter).filter((s) => s !== 'verified' && s !== 'pending')).toEqual([]);
    expect(await passingSelectors(await sendOne(user, 'retired@dest.example'))).toEqual([b.selector]);

    const events = (await world.events(d.id, 8)).filter((e) => !e.type.startsWith('message.'));
    expect(events.map((e) => e.type)).toEqual(['domain.verified', 'dkim.rotation_started', 'dkim.activated', 'dkim.retired']);
    expect(events.slice(1).map((e) => (e.data as { selector: string }).selector)).toEqual([b.selector, b.selector, a.selector]);
  });
});

describe('cancelling a rotation, conflicts, and domains from before rotation', () => {
  const world = rotationWorld({ DKIM_RETIRE_AFTER_MS: '60000' });
  const { w, get, when } = world;

  it('cancels a pending rotation; 409 when nothing is pending or it already took effect', async () => {
    const d = await world.register('cancel.example.test', 'rsa-1024');
    const a = d.records.find((r: any) => r.purpose === 'dkim');
    const none = await expectMatchesDocument(w.c.http, await world.cancel(d.id).expect(409));
    expect(none.body.detail).toBe('no rotation is pending');

    const started = (await world.rotate(d.id, { algorithm: 'ed25519' }).expect(202)).body;
    const b = started.records.find((r: any) => r.state === 'pending');
    expect(b).toMatchObject({ algorithm: 'ed25519', value: expect.stringMatching(/^v=DKIM1; k=ed25519; p=/) });
    const cancelled = await expectMatchesDocument(w.c.http, await world.cancel(d.id).expect(200));
    expect(dkimStates(cancelled.body)).toEqual([`${a.selector}:active`]);
    expect(dkimStates(await get(d.id))).toEqual([`${a.selector}:active`]);
    await expectMatchesDocument(w.c.http, await world.cancel(d.id).expect(409));
    expect((await world.events(d.id, 1)).map((e) => e.type)).toContain('dkim.rotation_started');

    // A new rotation may start after a cancel; once it took effect it can no longer be cancelled.
    const again = (await world.rotate(d.id).expect(202)).body.records.find((r: any) => r.state === 'pending');
    world.publish(again);
    await when(d.id, (x) => dkimOf(x, again.selector).state === 'active', 'the second rotation to take effect');
    const late = await expectMatchesDocument(w.c.http, await world.cancel(d.id).expect(409));
    expect(late.body.detail).toMatch(/a rotation that took effect cannot be cancelled/);
  });

  it("names the rotation mistake: the new key published over the old selector's record", async () => {
    const d = await world.register('replaced.example.test', 'ed25519');
    await when(d.id, (x) => x.status === 'verified', 'the domain to verify');
    const a = d.records.find((r: any) => r.purpose === 'dkim');
    const b = (await world.rotate(d.id).expect(202)).body.records.find((r: any) => r.state === 'pending');
    w.dns.publish(a.name, 'TXT', [b.strings]);
    const x = await when(d.id, (y) => dkimOf(y, a.selector).hint !== null, 'the replaced record to be diagnosed');
    expect(dkimOf(x, a.selector)).toMatchObject({
      status: 'fail',
      hint: `Put the value shown back at host "${a.host}", and add the record of selector ${b.selector} at host "${b.host}" beside it.`,
    });
  });

  it('refuses a bad algorithm naming the field, and another account gets 404', async () => {
    const d = await registerDomain(w.c.http, w.acct, 'bad.example.test', 'ed25519');
    const bad = await expectMatchesDocument(w.c.http, await world.rotate(d.id, { algorithm: 'dsa' }).expect(400));
    expect(bad.body.errors[0].field).toBe('algorithm');
    const other = await createAccount(w.c.http, 'Other');
    await request(w.c.http).post(`/v1/domains/${d.id}/dkim/rotate`).set(other.auth).send({}).expect(404);
    await request(w.c.http).delete(`/v1/domains/${d.id}/dkim/rotation`).set(other.auth).expect(404);
  });

  it('rotates a domain stored before rotation existed (one selector, no rotation fields)', async () => {
    const d = await world.register('legacy.example.test', 'ed25519');
    await when(d.id, (x) => x.status === 'verified', 'the domain to verify');
    // What a domain document looked like before this feature: read as it is, never migrated by a script.
    const stored = (await w.c.stores.domains.findById(d.id))!;
    const dkim = stored.dkim.map(({ activatedAt: _a, ...s }) => s);
    await w.c.mongo.collection('domains').updateOne({ _id: d.id } as never, { $set: { dkim }, $unset: { dkimRotatableSince: '' }, $inc: { version: 1 } });
    expect((await w.c.stores.domains.findById(d.id))!.dkim[0]).not.toHaveProperty('activatedAt');
    expect(dkimStates(await get(d.id))).toEqual([`${d.records[1].selector}:active`]);
    const b = (await world.rotate(d.id).expect(202)).body.records.find((r: any) => r.state === 'pending');
    world.publish(b);
    const x = await when(d.id, (y) => dkimOf(y, b.selector).state === 'active', 'the rotation of a legacy domain');
    expect(dkimOf(x, d.records[1].selector).state).toBe('retiring');
  });
});

describe('automatic rotation (DKIM_AUTO_ROTATE_AFTER_MS)', () => {
  const world = rotationWorld({ DKIM_AUTO_ROTATE_AFTER_MS: '1500' });
  const { w, when } = world;

  it('starts one rotation for a verified domain whose active key is older, and no second while it is pending', async () => {
    const d = await world.register('auto.example.test', 'ed25519');
    await when(d.id, (x) => x.status === 'verified', 'the domain to verify');
    const rotated = await when(d.id, (x) => dkimStates(x).length === 2, 'the sweep to start a rotation');
    expect(dkimStates(rotated)[1]).toMatch(/:pending$/);
    const events = await world.events(d.id, 2);
    expect(events.map((e) => e.type)).toEqual(['domain.verified', 'dkim.rotation_started']);
    // A period on purpose: that no second rotation starts can only be shown over several sweeps.
    await new Promise((r) => setTimeout(r, 2000));
    expect(dkimStates(await world.get(d.id))).toHaveLength(2);
    expect((await w.c.stores.domains.findById(d.id))?.dkimRotatableSince).toBeNull();

    // The owner cancels it: the next automatic one waits a whole DKIM_AUTO_ROTATE_AFTER_MS from the cancel.
    await expectMatchesDocument(w.c.http, await world.cancel(d.id).expect(200));
    expect(await w.c.dkimRotation.autoRotate()).toBe(0);
    expect(dkimStates(await world.get(d.id))).toHaveLength(1);
  });
});
