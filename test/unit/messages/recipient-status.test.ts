import { applyUpdates, deriveMessageStatus, expiryOf, queuedRecipients, type RecipientStatus } from '../../../src/messages/recipient-status';

const of = (...statuses: RecipientStatus[]) => statuses.map((status) => ({ status }));

describe('deriveMessageStatus', () => {
  it.each([
    [['queued'], 'queued'],
    [['queued', 'delivered'], 'queued'],
    [['deferred', 'queued'], 'deferred'],
    [['deferred', 'delivered', 'bounced'], 'deferred'],
    [['held', 'deferred'], 'held'],
    [['held', 'delivered'], 'held'],
    [['delivered'], 'delivered'],
    [['delivered', 'delivered'], 'delivered'],
    [['delivered', 'bounced'], 'bounced'],
    [['delivered', 'bounced', 'failed'], 'bounced'],
    [['delivered', 'suppressed'], 'failed'],
    [['delivered', 'failed'], 'failed'],
    [['bounced'], 'failed'],
    [['bounced', 'bounced'], 'failed'],
    [['suppressed'], 'failed'],
    [['failed'], 'failed'],
    [[], 'queued'],
  ] as Array<[RecipientStatus[], string]>)('%j → %s', (statuses, expected) => {
    expect(deriveMessageStatus(of(...statuses))).toBe(expected);
  });
});

describe('applyUpdates', () => {
  it('changes only the recipients named, counts sent attempts, and reports the changed indexes', () => {
    const t0 = new Date('2024-01-01T00:00:00Z');
    const t1 = new Date('2024-01-01T00:01:00Z');
    const before = queuedRecipients(['a@x.test', 'b@y.test', 'a@x.test', 'c@z.test'], t0);
    expect(before.map((r) => r.address)).toEqual(['a@x.test', 'b@y.test', 'c@z.test']);
    const reply = { code: 550, enhanced: '5.1.1', message: 'No such user' };
    const { recipients, changed } = applyUpdates(
      before,
      [
        { address: 'b@y.test', status: 'bounced', reply, remoteHost: 'mx.y.test[127.0.0.1]', reason: '550 5.1.1 No such user', sent: true },
        { address: 'c@z.test', status: 'held', reply: null, remoteHost: null, reason: 'suspended', sent: false },
      ],
      t1,
    );
    expect([...changed.keys()]).toEqual([1, 2]);
    expect(recipients[0]).toBe(before[0]);
    expect(recipients[1]).toEqual({ address: 'b@y.test', status: 'bounced', reply, remoteHost: 'mx.y.test[127.0.0.1]', reason: '550 5.1.1 No such user', attempts: 1, updatedAt: t1 });
    expect(recipients[2]).toMatchObject({ status: 'held', attempts: 0, updatedAt: t1 });
  });
});

describe('expiryOf (DELIVERY_MAX_AGE_MS, as Postfix maximal_queue_lifetime)', () => {
  const created = new Date('2024-01-01T00:00:00Z');
  const day = 24 * 3600_000;
  const maxAge = 5 * day;
  it.each([
    ['a young message, not the last attempt', 1 * day, false, null],
    ['a young message on the last attempt', 1 * day, true, 'retries'],
    ['just under the maximum age', maxAge - 1, false, null],
    ['exactly the maximum age', maxAge, false, 'age'],
    ['older than the maximum age', 6 * day, false, 'age'],
    ['older than the maximum age, on the last attempt too', 6 * day, true, 'age'],
  ] as Array<[string, number, boolean, string | null]>)('%s → %s', (_what, ageMs, last, expected) => {
    expect(expiryOf(created, new Date(created.getTime() + ageMs), maxAge, last)).toBe(expected);
  });

  it('takes createdAt as a lean read may return it (a Date or a string)', () => {
    expect(expiryOf(created.toISOString() as unknown as Date, new Date(created.getTime() + maxAge), maxAge, false)).toBe('age');
  });
});
