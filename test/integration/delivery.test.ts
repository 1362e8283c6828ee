import { randomBytes } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import request from 'supertest';
import type { RunningWorkers } from '../../workers';
import { dkimRecordName, dkimValue } from '../../src/verification/records';
import { generateDkimKeyPair } from '../../src/keys/dkim-keys';
import { deliveryJob } from '../../src/queue/delivery-jobs';
import type { MessageDoc } from '../../src/messages/message.model';
import { deliveryJobId, QUEUES } from '../../src/queue/queues';
import { createAccount, registerDomain, type TestAccount, spooledMessage } from '../support/factories';
import { eventually } from '../support/eventually';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

/** GET /v1/messages/:queueId; throws unless it answers 200. */
async function getMessage(c: TestContainer, acct: TestAccount, queueId: string): Promise<any> {
  const res = await request(c.http).get(`/v1/messages/${queueId}`).set(acct.auth);
  await expectMatchesDocument(c.http, res);
  if (res.status !== 200) throw new Error(`GET /v1/messages/${queueId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The message once the delivery worker has brought it to `status`. */
const messageWhen = (c: TestContainer, acct: TestAccount, queueId: string, status: 'delivered' | 'failed') =>
  eventually(() => getMessage(c, acct, queueId), { until: (m) => m.status === status, message: `message ${queueId} to be ${status}` });

/**
 * Waits until the delivery job of a message has finished (completed, failed, or removed
 * on completion), and returns that state: a finished job makes no further attempt.
 */
const finishedJobState = (c: TestContainer, queueId: string) =>
  eventually(() => c.queues.get(QUEUES.delivery).getJobState(deliveryJobId(queueId)), {
    until: (state) => state === 'completed' || state === 'failed' || state === 'unknown',
    message: `the delivery job of ${queueId} to finish`,
  });

/** The TXT records a domain publishes, as mailauth's resolver option wants them. */
function dnsFor(records: Map<string, string>) {
  return async (name: string, rrtype: string) => {
    const value = records.get(name.toLowerCase());
    if (rrtype !== 'TXT' || !value) throw Object.assign(new Error(`no ${rrtype} at ${name}`), { code: 'ENOTFOUND' });
    return [[value]];
  };
}

function messageDoc(acct: TestAccount, domain: { id: string; domain: string }, rcpt: string, raw: string, at = new Date()): MessageDoc {
  return spooledMessage({ accountId: acct.id, domain, to: [rcpt], raw, at });
}

/** Verified and approved, so the domain may send: each attempt asks (relay-e2e reaches this through DNS). */
const allowSending = (c: TestContainer, domainId: string) =>
  c.mongo.collection('domains').updateOne({ _id: domainId } as never, { $set: { status: 'verified', approval: 'approved' } });

const body = (domain: string, extra = '') =>
  `From: Sender <sender@${domain}>\r\nTo: rcpt@example.net\r\nSubject: hello\r\n${extra}\r\nHello there.\r\nSecond line.\r\n`;

describe('delivery', () => {
  let sink: SmtpSink;
  let c: TestContainer;
  let workers: RunningWorkers;
  let acct: TestAccount;
  let other: TestAccount;
  let rsa: any;
  let dual: any;
  const published = new Map<string, string>();
  let n = 0;
  const rcpt = () => `r${++n}.${randomBytes(3).toString('hex')}@example.net`;

  const spool = async (domain: any, to: string, raw = body(domain.domain)) => {
    const doc = messageDoc(acct, domain, to, raw);
    await c.messages.insert(doc);
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, doc._id));
    return doc;
  };

  beforeAll(async () => {
    sink = await SmtpSink.start();
    c = await createTestContainer({
      ...smarthostEnv(sink),
      DELIVERY_RETRY_BASE_MS: '200',
      SWEEP_INTERVAL_MS: '3600000',
    });
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
    acct = await createAccount(c.http, 'Sender Co');
    other = await createAccount(c.http, 'Other Co');

    rsa = await registerDomain(c.http, acct, 'rsa.example.test', 'rsa-2048');
    dual = await registerDomain(c.http, acct, 'dual.example.test', 'rsa-2048');
    for (const d of [rsa, dual]) {
      await allowSending(c, d.id);
      const dkim = d.records.find((r: any) => r.purpose === 'dkim');
      published.set(dkim.name, dkim.value);
    }
    // A second, ed25519 selector, active next to the RSA one.
    const ed = await generateDkimKeyPair('ed25519');
    const selector = `ed-${randomBytes(4).toString('hex')}`;
    await c.mongo.collection('domains').updateOne(
      { _id: dual.id },
      {
        $push: {
          dkim: {
            selector,
            algorithm: 'ed25519',
            keyType: 'ed25519',
            publicKey: ed.publicKey,
            privateKey: c.cipher.seal(ed.privateKeyPem, selector),
            status: 'active',
            createdAt: new Date(),
          },
        },
      } as any,
    );
    published.set(dkimRecordName(selector, dual.domain), dkimValue('ed25519', ed.publicKey));
  });

  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await sink.close();
  });

  it('signs with the RSA selector, adds Message-ID and Date, and delivers through the smarthost', async () => {
    const to = rcpt();
    const doc = await spool(rsa, to);
    const m = await messageWhen(c, acct, doc._id, 'delivered');

    expect(m).toMatchObject({ queueId: doc._id, domain: rsa.domain, envelope: { from: `sender@${rsa.domain}`, to: [to] }, size: doc.size });
    expect(m.deliveredAt).not.toBeNull();
    expect(m.attempts).toEqual([{ at: expect.any(String), status: 'delivered', code: 250, response: expect.stringMatching(/^250/), durationMs: expect.any(Number) }]);

    const [got] = sink.to(to);
    expect(got.from).toBe(`sender@${rsa.domain}`);
    // smtp:// upgrades opportunistically; the sink's self-signed certificate is allowed by the flag.
    expect(got.secure).toBe(true);
    const text = got.raw.toString();
    expect(text.match(/^DKIM-Signature:/gim)).toHaveLength(1);
    expect(text).toMatch(new RegExp(`^Message-ID: <${doc._id}\\.[0-9a-f]+@rsa\\.example\\.test>\\r$`, 'm'));
    expect(text).toMatch(/^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r$/m);
    expect(text.endsWith('\r\nHello there.\r\nSecond line.\r\n')).toBe(true);

    const v = await dkimVerify(got.raw, { resolver: dnsFor(published) });
    expect(v.results).toHaveLength(1);
    expect(v.results[0]).toMatchObject({ signingDomain: rsa.domain, selector: rsa.records[1].selector, algo: 'rsa-sha256', status: { result: 'pass' } });
    expect(text).toMatch(/^DKIM-Signature: [^]*?\bc=relaxed\/relaxed;/m);

    // The event is inserted just after the status write: read it once the job has finished.
    await finishedJobState(c, doc._id);
    const events = await c.events.listForDomain(rsa.id);
    expect(events.filter((e) => e._id === `${doc._id}-delivered`)).toEqual([
      expect.objectContaining({ type: 'message.delivered', accountId: acct.id, version: 0, data: expect.objectContaining({ queueId: doc._id, status: 'delivered' }) }),
    ]);
  });

  it('adds an ed25519-sha256 signature when the domain also has an active ed25519 selector; both verify', async () => {
    const to = rcpt();
    const doc = await spool(dual, to, body(dual.domain, 'Message-ID: <own@dual.example.test>\r\nDate: Mon, 04 Mar 2024 10:00:00 +0000\r\n'));
    await messageWhen(c, acct, doc._id, 'delivered');
    const [got] = sink.to(to);
    const text = got.raw.toString();
    // The sender's own Message-ID and Date are kept and not doubled.
    expect(text.match(/^Message-ID:/gim)).toEqual(['Message-ID:']);
    expect(text).toContain('Message-ID: <own@dual.example.test>');
    expect(text.match(/^Date:/gim)).toHaveLength(1);

    const v = await dkimVerify(got.raw, { resolver: dnsFor(published) });
    expect(v.results.map((r: any) => [r.algo, r.status.result]).sort()).toEqual([
      ['ed25519-sha256', 'pass'],
      ['rsa-sha256', 'pass'],
    ]);
  });

  it('defers on 451 and delivers on the retry, keeping both attempts', async () => {
    const to = rcpt();
    sink.plan(to, [451, 250]);
    const doc = await spool(rsa, to);
    const m = await messageWhen(c, acct, doc._id, 'delivered');
    expect(m.attempts.map((a: any) => [a.status, a.code])).toEqual([
      ['deferred', 451],
      ['delivered', 250],
    ]);
    expect(m.attempts[0].response).toMatch(/^451/);
    // The retry waited for the backoff (base 200 ms).
    expect(new Date(m.attempts[1].at).getTime() - new Date(m.attempts[0].at).getTime()).toBeGreaterThanOrEqual(150);
    expect(sink.to(to)).toHaveLength(1);
    expect(sink.tries.get(to)).toBe(2);
  });

  it('fails on 550 after one attempt, emits message.failed and does not retry', async () => {
    const to = rcpt();
    sink.plan(to, [550]);
    const doc = await spool(rsa, to);
    const m = await messageWhen(c, acct, doc._id, 'failed');
    expect(m.attempts).toEqual([expect.objectContaining({ status: 'failed', code: 550 })]);
    expect(m.deliveredAt).toBeNull();
    // No retry may happen: wait until the job has finished (a retry would be a delayed job, then run).
    await finishedJobState(c, doc._id);
    expect(sink.tries.get(to)).toBe(1);
    expect((await getMessage(c, acct, doc._id)).attempts).toHaveLength(1);
    const events = (await c.events.listForDomain(rsa.id)).filter((e) => e._id.startsWith(doc._id));
    // Per-recipient status (issue 11): the bounce is an event of its own, besides message.failed.
    expect(events.map((e) => [e._id, e.type]).sort()).toEqual([
      [`${doc._id}-bounced-${to}`, 'message.bounced'],
      [`${doc._id}-failed`, 'message.failed'],
    ]);
    const job = await c.queues.get(QUEUES.delivery).getJob(`deliver-${doc._id}`);
    expect(await job?.getState()).toBe('failed');
  });

  it('marks the message failed once the last attempt is deferred too', async () => {
    const to = rcpt();
    sink.plan(to, [421]);
    const doc = messageDoc(acct, rsa, to, body(rsa.domain));
    await c.messages.insert(doc);
    const [name, data, opts] = deliveryJob(c.config, doc._id);
    await c.queues.get(QUEUES.delivery).add(name, data, { ...opts, attempts: 2 });
    const m = await messageWhen(c, acct, doc._id, 'failed');
    expect(m.attempts.map((a: any) => [a.status, a.code])).toEqual([
      ['deferred', 421],
      ['failed', 421],
    ]);
    // The event is inserted just after the status write: read it once the job has finished.
    await finishedJobState(c, doc._id);
    expect((await c.events.listForDomain(rsa.id)).filter((e) => e._id === `${doc._id}-failed`)).toHaveLength(1);
  });

  it('never sends a finished message again: not when the service is called again, not when the job is re-added', async () => {
    const to = rcpt();
    const doc = await spool(rsa, to);
    await messageWhen(c, acct, doc._id, 'delivered');
    // The worker may still hold the message's lock for a moment after the status write.
    const outcome = await eventually(() => c.delivery.deliver(doc._id, { attemptsMade: 0, maxAttempts: 14 }), {
      until: (o) => o !== 'locked',
      timeoutMs: 5000,
      message: 'the worker to release the message',
    });
    expect(outcome).toBe('already_finished');
    // The completed job was removed, so this add creates a new job that runs.
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, doc._id));
    const state = await finishedJobState(c, doc._id);
    // removeOnComplete: a job that ran to completion is gone.
    expect(['completed', 'unknown']).toContain(state);
    expect(sink.to(to)).toHaveLength(1);
    const m = await getMessage(c, acct, doc._id);
    expect(m.attempts).toHaveLength(1);
    expect((await c.events.listForDomain(rsa.id)).filter((e) => e._id.startsWith(doc._id))).toHaveLength(1);
  });

  it('runs two deliveries of one message at once without sending twice', async () => {
    const to = rcpt();
    const doc = messageDoc(acct, rsa, to, body(rsa.domain));
    await c.messages.insert(doc);
    const outcomes = await Promise.all([
      c.delivery.deliver(doc._id, { attemptsMade: 0, maxAttempts: 14 }),
      c.delivery.deliver(doc._id, { attemptsMade: 0, maxAttempts: 14 }),
    ]);
    expect(outcomes.sort()).toEqual(['delivered', 'locked']);
    expect(sink.to(to)).toHaveLength(1);
  });

  it('shows a message only to its own account', async () => {
    const doc = await spool(rsa, rcpt());
    await messageWhen(c, acct, doc._id, 'delivered');
    for (const path of [`/v1/messages/${doc._id}`, `/v1/messages/${doc._id}/raw`]) {
      const res = await request(c.http).get(path).set(other.auth).expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      await expectMatchesDocument(c.http, res);
    }
    await request(c.http).get('/v1/messages/doesnotexist').set(acct.auth).expect(404);
    await request(c.http).get('/v1/messages/bad%20id!').set(acct.auth).expect(404);
    await request(c.http).get(`/v1/messages/${doc._id}`).expect(401);
    // Smarthost mode keeps no copy.
    const raw = await request(c.http).get(`/v1/messages/${doc._id}/raw`).set(acct.auth).expect(404);
    expect(raw.body.detail).toMatch(/capture/);
    await expectMatchesDocument(c.http, raw);
  });

  it('recovers a queued message whose job was lost, once, however often recovery runs', async () => {
    const to = rcpt();
    const past = new Date(Date.now() - 60 * 60_000);
    const doc = messageDoc(acct, rsa, to, body(rsa.domain), past);
    await c.messages.insert(doc);
    // Fresh and unfinished messages are left alone.
    expect(await c.messageRecovery.requeueStuck(new Date(Date.now() - 2 * 60 * 60_000))).toBe(0);
    expect(await c.messageRecovery.requeueStuck(new Date(Date.now() - 10 * 60_000))).toBeGreaterThanOrEqual(1);
    await c.messageRecovery.requeueStuck(new Date(Date.now() - 10 * 60_000));
    const m = await messageWhen(c, acct, doc._id, 'delivered');
    expect(m.attempts).toHaveLength(1);
    await c.messageRecovery.requeueStuck(new Date());
    // Had recovery re-added the delivered message, its job would be waiting now: let it run.
    await finishedJobState(c, doc._id);
    expect(sink.to(to)).toHaveLength(1);
  });

  it('delivers once, after its lock runs out, a message whose worker died mid-delivery', async () => {
    const to = rcpt();
    const doc = { ...messageDoc(acct, rsa, to, body(rsa.domain)), status: 'sending' as const };
    await c.messages.insert(doc);
    // What a killed worker leaves: the message marked sending, its lock held until the TTL,
    // and its job (stalled, so BullMQ hands it to another worker).
    await c.redis.set(`${c.config.queuePrefix}:lock:message:${doc._id}`, 'dead-worker', 'PX', 700);
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, doc._id));
    const m = await messageWhen(c, acct, doc._id, 'delivered');
    expect(m.attempts.filter((a: { status: string }) => a.status === 'delivered')).toHaveLength(1);
    // Its only job has finished: nothing is left to send the message again.
    await finishedJobState(c, doc._id);
    expect(sink.to(to)).toHaveLength(1);
  });

  it('documents the message routes in /openapi.json', async () => {
    const res = await request(c.http).get('/openapi.json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/v1/messages/{queueId}', '/v1/messages/{queueId}/raw']));
    await expectMatchesDocument(c.http, res);
  });

  describe('capture mode', () => {
    let cap: TestContainer;
    let capWorkers: RunningWorkers;
    let capAcct: TestAccount;

    beforeAll(async () => {
      cap = await createTestContainer({ DELIVERY_MODE: 'capture', SWEEP_INTERVAL_MS: '3600000' });
      capWorkers = await cap.start('worker', { workers: { dnsConcurrency: 1 } });
      capAcct = await createAccount(cap.http, 'Capture Co');
    });
    afterAll(async () => {
      await capWorkers.close();
      await cap.dispose();
    });

    it('keeps the signed message for GET /v1/messages/:queueId/raw and sends nothing', async () => {
      const d = await registerDomain(cap.http, capAcct, 'cap.example.test', 'rsa-2048');
      await allowSending(cap, d.id);
      const dkim = d.records.find((r: any) => r.purpose === 'dkim');
      const to = rcpt();
      const doc = messageDoc(capAcct, d, to, body(d.domain));
      await cap.messages.insert(doc);
      const before = await request(cap.http).get(`/v1/messages/${doc._id}/raw`).set(capAcct.auth).expect(404);
      expect(before.headers['content-type']).toMatch(/^application\/problem\+json/);
      await expectMatchesDocument(cap.http, before);

      await cap.queues.get(QUEUES.delivery).add(...deliveryJob(cap.config, doc._id));
      const m = await messageWhen(cap, capAcct, doc._id, 'delivered');
      expect(m.attempts).toEqual([expect.objectContaining({ status: 'delivered', code: null, response: 'captured' })]);

      const res = await request(cap.http)
        .get(`/v1/messages/${doc._id}/raw`)
        .set(capAcct.auth)
        .buffer(true)
        .parse((r, cb) => {
          const chunks: Buffer[] = [];
          r.on('data', (x: Buffer) => chunks.push(x));
          r.on('end', () => cb(null, Buffer.concat(chunks)));
        })
        .expect(200);
      expect(res.headers['content-type']).toMatch(/^message\/rfc822/);
      await expectMatchesDocument(cap.http, res);
      const raw = res.body as Buffer;
      expect(raw.toString()).toMatch(/^DKIM-Signature: /);
      expect(raw.toString()).toContain(`Message-ID: <${doc._id}.`);
      const v = await dkimVerify(raw, { resolver: dnsFor(new Map([[dkim.name, dkim.value]])) });
      expect(v.results.map((r: any) => r.status.result)).toEqual(['pass']);
      expect(sink.to(to)).toHaveLength(0);
    });
  });
});
