import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { RunningWorkers } from '../../workers';
import { deliveryJob, deliverySnapshotOf } from '../../src/queue/delivery-jobs';
import type { MessageDoc } from '../../src/messages/message.model';
import { queuedRecipients } from '../../src/messages/recipient-status';
import { DeliverySnapshots } from '../../src/queue/delivery-snapshots';
import { QUEUES } from '../../src/queue/queues';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { eventually } from '../support/eventually';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

/*
 * The delivery hot path on FerretDB v1, where every read by _id scans its collection: a
 * first attempt whose snapshot waits beside its job reads neither the message nor (once cached
 * in the worker) its domain; a retry reads the message, and still sends only once.
 */
describe('delivery reads', () => {
  let sink: SmtpSink;
  let c: TestContainer;
  let workers: RunningWorkers;
  let acct: TestAccount;
  let domain: { id: string; domain: string };

  const body = () => `From: Sender <sender@${domain.domain}>\r\nTo: rcpt@example.net\r\nSubject: hello\r\n\r\nHello there.\r\n`;
  const rcpt = () => `r.${randomBytes(4).toString('hex')}@example.net`;

  function messageDoc(to: string, status: MessageDoc['status'] = 'queued'): MessageDoc {
    const at = new Date();
    const raw = Buffer.from(body());
    return {
      _id: randomBytes(9).toString('base64url'),
      accountId: acct.id,
      domainId: domain.id,
      domain: domain.domain,
      username: 'sender',
      envelope: { from: `sender@${domain.domain}`, to: [to] },
      recipients: queuedRecipients([to], at),
      raw,
      size: raw.length,
      status,
      attempts: [],
      captured: null,
      createdAt: at,
      updatedAt: at,
      deliveredAt: null,
    };
  }

  // As the relay does: the spooled message, its snapshot beside the job, then the job.
  const spoolWithSnapshot = async (doc: MessageDoc) => {
    await c.messages.insert(doc);
    await new DeliverySnapshots(c.redis, c.config.queuePrefix).put(doc._id, deliverySnapshotOf(doc)!);
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, doc._id));
  };

  const delivered = (doc: MessageDoc) =>
    eventually(async () => (await request(c.http).get(`/v1/messages/${doc._id}`).set(acct.auth)).body, {
      until: (m) => m.status === 'delivered',
      message: `message ${doc._id} to be delivered`,
    });

  beforeAll(async () => {
    sink = await SmtpSink.start();
    c = await createTestContainer({
      ...smarthostEnv(sink),
      DELIVERY_RETRY_BASE_MS: '200',
      SWEEP_INTERVAL_MS: '3600000',
    });
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
    acct = await createAccount(c.http, 'Reads Co');
    domain = await registerDomain(c.http, acct, `reads-${randomBytes(3).toString('hex')}.example.test`, 'rsa-2048');
    await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved' } });
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await workers.close();
    await c.dispose();
    await sink.close();
  });

  it('a first attempt from its snapshot reads neither the message nor, after the first message, the domain, and writes the message once', async () => {
    const messageReads = jest.spyOn(c.messages, 'findForDelivery');
    const messageWrites = jest.spyOn(c.messages, 'recordAttempt');
    const otherWrites = [jest.spyOn(c.messages, 'markSending'), jest.spyOn(c.messages, 'markFailed')];
    const subscriberQueries = jest.spyOn(c.webhookStore, 'findSubscribers');
    const domainReads = jest.spyOn(c.stores.domains, 'findById');
    const docs = [messageDoc(rcpt()), messageDoc(rcpt()), messageDoc(rcpt()), messageDoc(rcpt())];
    for (const doc of docs) {
      await spoolWithSnapshot(doc);
      await delivered(doc);
    }
    for (const doc of docs) expect(sink.to(doc.envelope.to[0])).toHaveLength(1);
    expect(messageReads.mock.calls.filter(([id]) => docs.some((d) => d._id === id))).toEqual([]);
    // One write per message: its outcome; no transient `sending` claim.
    expect(messageWrites.mock.calls.map(([id]) => id).filter((id) => docs.some((d) => d._id === id)).sort()).toEqual(docs.map((d) => d._id).sort());
    for (const spy of otherWrites) expect(spy.mock.calls.filter(([id]) => docs.some((d) => d._id === id))).toEqual([]);
    // The account has no webhook: its events are written already dispatched, and nobody asks for subscribers.
    const events = await c.mongo.collection('events').find({ _id: { $in: docs.map((d) => `${d._id}-delivered`) } } as never).toArray();
    expect(events.map((e) => e.dispatched)).toEqual(docs.map(() => true));
    expect(subscriberQueries.mock.calls.filter(([accountId]) => accountId === acct.id)).toEqual([]);
    // One load of the domain (the decision and the selectors) serves every message.
    expect(domainReads.mock.calls.filter(([id]) => id === domain.id).length).toBeLessThanOrEqual(2);
    jest.restoreAllMocks();
  });

  it('reads the message when an earlier run took its snapshot, and sends it once', async () => {
    const messageReads = jest.spyOn(c.messages, 'findForDelivery');
    // What a worker killed mid-attempt leaves: the message `sending`, its snapshot taken (every
    // attempt takes it first), the job back in the queue.
    const doc = messageDoc(rcpt(), 'sending');
    await c.messages.insert(doc);
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, doc._id));
    const m = await delivered(doc);
    expect(m.attempts).toHaveLength(1);
    expect(messageReads.mock.calls.filter(([id]) => id === doc._id)).toHaveLength(1);
    expect(sink.to(doc.envelope.to[0])).toHaveLength(1);
    messageReads.mockRestore();
  });
});
