import type { MessageDoc } from '../../src/messages/message.model';
import { eventually } from '../support/eventually';
import { plainMessage, relaySession, startRelayFixture, type RelayFixture } from '../support/relay-fixture';
import type { SmtpReply, SmtpTestClient } from '../support/smtp-client';

const TEMPORARY = '451 4.3.0 Temporary failure, try again later';
const QUEUED = /^250 2\.0\.0 Ok: queued as (\S+)$/;

/*
 * Group commit of the spool (issue 11): the messages of concurrent sessions go to the
 * database in one insert, and each session still hears its own reply. The first batch is
 * held at the store until the others have gathered behind it, so the test knows which
 * messages share a batch without timing anything.
 */
describe('relay spool group commit', () => {
  let f: RelayFixture;
  let batches: MessageDoc[][];
  let release: () => void;
  let duplicateOf: string | null;

  beforeAll(async () => {
    f = await startRelayFixture();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await f.close();
  });

  beforeEach(() => {
    batches = [];
    duplicateOf = null;
    const insertBatch = f.c.messages.insertBatch.bind(f.c.messages);
    let gate: Promise<void> | null = new Promise<void>((resolve) => (release = resolve));
    jest.spyOn(f.c.messages, 'insertBatch').mockImplementation(async (docs) => {
      batches.push(docs);
      const held = gate;
      gate = null;
      if (held) await held;
      // The forced failure: the database itself refuses this document (a duplicate _id).
      return insertBatch(docs.map((d) => (duplicateOf && d.envelope.to.includes('fail@dest.example') ? { ...d, _id: duplicateOf } : d)));
    });
  });

  afterEach(() => jest.restoreAllMocks());

  /** A logged-in session with its transaction open up to the 354 of DATA. */
  async function readyForBody(to: string): Promise<SmtpTestClient> {
    const client = await relaySession(f.relay.port);
    expect((await client.login(f.username, f.password)).code).toBe(235);
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command(`RCPT TO:<${to}>`)).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    return client;
  }

  const inBatches = () => batches.reduce((n, b) => n + b.length, 0);
  const stored = (id: string) => f.c.mongo.collection('messages').findOne({ _id: id } as never) as Promise<MessageDoc | null>;

  it('answers each of several concurrent sessions with its own 250 and its own queue id', async () => {
    const to = ['a', 'b', 'c', 'd', 'e'].map((x) => `${x}@dest.example`);
    const clients = await Promise.all(to.map(readyForBody));
    const replies = clients.map((client) => client.body(plainMessage(f.from)));
    await eventually(() => inBatches() + f.c.spool.waiting, { until: (n) => n === to.length, message: 'every message to reach the spool' });
    release();
    const got: SmtpReply[] = await Promise.all(replies);

    const ids = got.map((r) => QUEUED.exec(r.raw)?.[1]);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(new Set(ids).size).toBe(to.length);
    // Each queue id names the message of the session that heard it.
    for (const [i, id] of ids.entries()) expect((await stored(id!))?.envelope.to).toEqual([to[i]]);
    // Held behind the first batch, the others went to the database together.
    expect(Math.max(...batches.map((b) => b.length))).toBeGreaterThan(1);
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('answers only the session whose document failed with 451, and the others of its batch with 250', async () => {
    duplicateOf = 'group-commit-taken';
    await f.c.mongo.collection('messages').insertOne({ _id: duplicateOf } as never);
    const existing = await readyForBody('first@dest.example');
    const firstReply = existing.body(plainMessage(f.from));
    await eventually(() => batches.length, { until: (n) => n === 1, message: 'the first batch to be held at the store' });

    const to = ['p@dest.example', 'q@dest.example', 'fail@dest.example', 'r@dest.example'];
    const clients = await Promise.all(to.map(readyForBody));
    const replies = clients.map((client) => client.body(plainMessage(f.from)));
    await eventually(() => f.c.spool.waiting, { until: (n) => n === to.length, message: 'the second batch to gather' });
    release();
    expect((await firstReply).code).toBe(250);
    const got = await Promise.all(replies);

    expect(got.map((r) => (r.code === 250 ? 250 : r.raw))).toEqual([250, 250, TEMPORARY, 250]);
    // The failed document shared its batch with the others.
    expect(batches[1].map((d) => d.envelope.to[0]).sort()).toEqual([...to].sort());
    for (const [i, r] of got.entries()) {
      if (r.code !== 250) continue;
      expect((await stored(QUEUED.exec(r.raw)![1]))?.envelope.to).toEqual([to[i]]);
    }
    expect(await f.c.mongo.collection('messages').countDocuments({ 'envelope.to': 'fail@dest.example' })).toBe(0);
    // The session goes on: its next message is accepted once the database takes it.
    duplicateOf = null;
    expect((await clients[2].send(f.from, ['fail@dest.example'], plainMessage(f.from))).code).toBe(250);
    await Promise.all([existing, ...clients].map((c) => c.quit()));
  });
});
