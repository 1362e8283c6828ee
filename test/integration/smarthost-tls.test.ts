import { randomBytes } from 'node:crypto';
import type { RunningWorkers } from '../../workers';
import type { MessageDoc } from '../../src/messages/message.model';
import { deliveryJob } from '../../src/queue/delivery-jobs';
import { QUEUES } from '../../src/queue/queues';
import { createAccount, registerDomain, spooledMessage } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpSink } from '../support/smtp-sink';

/** Polls the spooled message until `pred` holds. */
async function waitForMessage(c: TestContainer, queueId: string, pred: (m: MessageDoc) => boolean): Promise<MessageDoc> {
  for (const until = Date.now() + 15_000; Date.now() < until; ) {
    const m = (await c.mongo.collection('messages').findOne({ _id: queueId } as never)) as unknown as MessageDoc | null;
    if (m && pred(m)) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`message ${queueId} never reached the expected state`);
}

describe.each([
  ['required', undefined],
  ['optional', 'optional'],
])('smtp:// smarthost without STARTTLS, SMARTHOST_TLS %s', (mode, value) => {
  let sink: SmtpSink;
  let c: TestContainer;
  let workers: RunningWorkers;

  beforeAll(async () => {
    sink = await SmtpSink.start({ starttls: false });
    c = await createTestContainer({
      DELIVERY_MODE: 'smarthost',
      SMARTHOST_URL: `smtp://127.0.0.1:${sink.port}`,
      ...(value ? { SMARTHOST_TLS: value } : {}),
      // One attempt is all a test looks at; a retry would only come an hour later.
      DELIVERY_RETRY_BASE_MS: '3600000',
      SWEEP_INTERVAL_MS: '3600000',
    });
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
  });
  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await sink.close();
  });

  async function spool(): Promise<{ queueId: string; rcpt: string }> {
    const acct = await createAccount(c.http);
    const domain = await registerDomain(c.http, acct, `tls-${randomBytes(3).toString('hex')}.example.test`, 'ed25519');
    // Verified and approved, so the domain may send: each delivery attempt asks.
    await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved' } });
    const rcpt = `r.${randomBytes(3).toString('hex')}@example.net`;
    const raw = Buffer.from(`From: <sender@${domain.domain}>\r\nTo: <${rcpt}>\r\nSubject: hi\r\n\r\nhello\r\n`);
    const doc = spooledMessage({ accountId: acct.id, domain, to: [rcpt], raw });
    await c.messages.insert(doc);
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, doc._id));
    return { queueId: doc._id, rcpt };
  }

  if (mode === 'required') {
    it('defers the message with the reason and sends nothing in the clear (the default)', async () => {
      const { queueId, rcpt } = await spool();
      const m = await waitForMessage(c, queueId, (x) => x.attempts.length > 0);
      expect(m.status).toBe('deferred');
      expect(m.attempts[0]).toMatchObject({
        status: 'deferred',
        // The reason, and the smarthost's own reply to STARTTLS.
        response: expect.stringMatching(/^STARTTLS with the smarthost failed: Error upgrading connection with STARTTLS: 5\d\d /),
      });
      expect(sink.to(rcpt)).toHaveLength(0);
    });
  } else {
    it('delivers in the clear when the smarthost offers no STARTTLS', async () => {
      const { queueId, rcpt } = await spool();
      const m = await waitForMessage(c, queueId, (x) => x.status === 'delivered');
      expect(m.attempts[0].status).toBe('delivered');
      expect(sink.to(rcpt)).toHaveLength(1);
      expect(sink.to(rcpt)[0].secure).toBe(false);
    });
  }
});
