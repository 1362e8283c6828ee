import request from 'supertest';
import { ManualClock } from '../../src/clock';
import { domainLockKey } from '../../src/domains/domain-lock';
import { RedisLock } from '../../src/queue/redis-lock';
import { until } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { ADMIN_KEY, createTestContainer, type TestContainer } from '../support/services';

const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

function answers(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    nature: 'transactional',
    websiteUrl: 'https://shop.example.com/about',
    subscriberListStrategy: 'Only customers who create an account; double opt-in.',
    bounceHandling: 'Hard bounces suppress the address at once; complaints go to support.',
    unsubscribeMethod: 'One-click link (RFC 8058) and a preference centre.',
    sendingRateRationale: 'About 2,000 order mails a day, with peaks of 10,000.',
    listHygiene: 'Addresses inactive for 12 months are removed monthly.',
    contactEmails: ['ops@shop.example.com', 'security@shop.example.com'],
    replyTo: 'support@shop.example.com',
    consentStatement: true,
    unsubscribeLinkAgreement: true,
    htmlValidationProcess: 'Templates are linted with an HTML validator in CI.',
    ...overrides,
  };
}

const withoutField = (field: string) => {
  const a = answers();
  delete a[field];
  return a;
};

describe('approval', () => {
  let c: TestContainer;
  let clock: ManualClock;
  let alice: TestAccount;
  let bob: TestAccount;

  beforeAll(async () => {
    clock = new ManualClock(new Date('2025-03-01T10:00:00Z'));
    c = await createTestContainer({}, { clock });
    alice = await createAccount(c.http, 'Alice');
    bob = await createAccount(c.http, 'Bob');
  });
  afterAll(async () => {
    await c.dispose();
  });

  const stored = (id: string) => c.mongo.collection('domains').findOne({ _id: id } as never);
  /** Arranges a verified domain, as the state machine would leave it. */
  const markVerified = (id: string) => c.mongo.collection('domains').updateOne({ _id: id } as never, { $set: { status: 'verified' } });

  describe('PUT /v1/domains/:id/questionnaire', () => {
    let domainId: string;
    beforeAll(async () => {
      domainId = (await registerDomain(c.http, alice, 'table.example.com', 'ed25519')).id;
    });

    it.each([
      ['nature', answers({ nature: 'newsletter' })],
      ['nature', withoutField('nature')],
      ['websiteUrl', answers({ websiteUrl: 'shop.example.com' })],
      ['websiteUrl', answers({ websiteUrl: 'ftp://shop.example.com' })],
      ['websiteUrl', answers({ websiteUrl: 'javascript:alert(1)' })],
      ['subscriberListStrategy', answers({ subscriberListStrategy: '   ' })],
      ['bounceHandling', answers({ bounceHandling: '' })],
      ['unsubscribeMethod', answers({ unsubscribeMethod: 42 })],
      ['sendingRateRationale', answers({ sendingRateRationale: 'x'.repeat(2001) })],
      ['listHygiene', withoutField('listHygiene')],
      ['contactEmails', answers({ contactEmails: [] })],
      ['contactEmails', answers({ contactEmails: 'ops@shop.example.com' })],
      ['contactEmails.1', answers({ contactEmails: ['ops@shop.example.com', 'not-an-address'] })],
      ['contactEmails', answers({ contactEmails: ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example'] })],
      ['replyTo', answers({ replyTo: 'support' })],
      ['replyTo', withoutField('replyTo')],
      ['consentStatement', answers({ consentStatement: false })],
      ['consentStatement', answers({ consentStatement: 'yes' })],
      ['consentStatement', withoutField('consentStatement')],
      ['unsubscribeLinkAgreement', answers({ unsubscribeLinkAgreement: false })],
      ['htmlValidationProcess', answers({ htmlValidationProcess: '' })],
      ['sendingVolume', answers({ sendingVolume: 1000 })],
      ['body', []],
    ])('answers 400 problem+json to bad body #%#, naming %s', async (field, body) => {
      const res = await request(c.http).put(`/v1/domains/${domainId}/questionnaire`).set(alice.auth).send(body).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, title: 'Bad Request', detail: expect.any(String) });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      await expectMatchesDocument(c.http, res);
    });

    it('names every bad field at once', async () => {
      const res = await request(c.http)
        .put(`/v1/domains/${domainId}/questionnaire`)
        .set(alice.auth)
        .send(answers({ nature: 'x', replyTo: 'y', consentStatement: false }))
        .expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['consentStatement', 'nature', 'replyTo']);
      await expectMatchesDocument(c.http, res);
    });

    it('leaves the domain untouched after a 400', async () => {
      const doc = await stored(domainId);
      expect(doc).toMatchObject({ approval: 'not_submitted' });
      expect(doc).not.toHaveProperty('questionnaire');
    });

    it('stores the answers and puts the domain in review', async () => {
      const d = await registerDomain(c.http, alice, 'happy.example.com', 'ed25519');
      const body = answers({
        subscriberListStrategy: '  Double opt-in only.  ',
        contactEmails: ['Ops@Shop.example.com', 'ops@shop.example.com', 'a@x.example', 'b@x.example', 'c@x.example'],
      });
      const res = await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(alice.auth).send(body).expect(200);
      expect(res.body).toMatchObject({
        id: d.id,
        status: 'pending',
        approval: 'pending_review',
        version: d.version + 1, // a review write bumps the version, so a check racing it loses its guarded update
        sending: { allowed: false, reason: expect.stringMatching(/not verified/) },
        questionnaire: {
          nature: 'transactional',
          subscriberListStrategy: 'Double opt-in only.',
          // Five entries, four distinct addresses: the first spelling wins.
          contactEmails: ['Ops@Shop.example.com', 'a@x.example', 'b@x.example', 'c@x.example'],
          consentStatement: true,
          submittedAt: '2025-03-01T10:00:00.000Z',
        },
      });
      expect(res.body).not.toHaveProperty('review');
      await expectMatchesDocument(c.http, res);

      const doc = await stored(d.id);
      expect(doc).toMatchObject({ approval: 'pending_review', version: d.version + 1, status: 'pending' });
      expect(doc!.questionnaire).toMatchObject({ replyTo: 'support@shop.example.com', submittedAt: new Date('2025-03-01T10:00:00Z') });

      const get = await request(c.http).get(`/v1/domains/${d.id}`).set(alice.auth).expect(200);
      expect(get.body.questionnaire.contactEmails).toHaveLength(4);
      await expectMatchesDocument(c.http, get);
    });

    it('on a verified domain, says sending awaits review', async () => {
      const d = await registerDomain(c.http, alice, 'verified.example.com', 'ed25519');
      await markVerified(d.id);
      const res = await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(alice.auth).send(answers()).expect(200);
      expect(res.body).toMatchObject({ status: 'verified', approval: 'pending_review', sending: { allowed: false, reason: expect.stringMatching(/review/) } });
      await expectMatchesDocument(c.http, res);
    });

    it("answers 404 for another account's domain, and for the admin key 403", async () => {
      const d = await registerDomain(c.http, alice, 'mine.example.com', 'ed25519');
      const res = await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(bob.auth).send(answers()).expect(404);
      expect(res.body.status).toBe(404);
      await expectMatchesDocument(c.http, res);
      await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(admin).send(answers()).expect(403);
      await request(c.http).put('/v1/domains/nope/questionnaire').set(alice.auth).send(answers()).expect(404);
      expect(await stored(d.id)).toMatchObject({ approval: 'not_submitted' });
    });
  });

  describe('admin review', () => {
    let untouched: string;
    beforeAll(async () => {
      untouched = (await registerDomain(c.http, alice, 'untouched.example.com', 'ed25519')).id;
    });

    it('is for the admin key only: 401 without a key, 403 with an account key', async () => {
      const d = await registerDomain(c.http, alice, 'guarded.example.com', 'ed25519');
      for (const action of ['approve', 'reject']) {
        await request(c.http).post(`/v1/admin/domains/${d.id}/${action}`).send({ reason: 'ok' }).expect(401);
        const res = await request(c.http).post(`/v1/admin/domains/${d.id}/${action}`).set(alice.auth).send({ reason: 'ok' }).expect(403);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
        await expectMatchesDocument(c.http, res);
      }
      expect(await stored(d.id)).toMatchObject({ approval: 'not_submitted' });
    });

    it("approves any account's domain; sending still waits for verification", async () => {
      const d = await registerDomain(c.http, bob, 'approve.example.com', 'ed25519');
      await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(bob.auth).send(answers()).expect(200);
      clock.advance(3_600_000);
      const res = await request(c.http).post(`/v1/admin/domains/${d.id}/approve`).set(admin).send({ reason: 'answers are complete' }).expect(200);
      expect(res.body).toMatchObject({
        approval: 'approved',
        status: 'pending',
        sending: { allowed: false, reason: expect.stringMatching(/not verified/) },
        review: { reason: 'answers are complete', reviewedAt: '2025-03-01T11:00:00.000Z', approvedAt: '2025-03-01T11:00:00.000Z' },
      });
      expect(await stored(d.id)).toMatchObject({ approval: 'approved', approvalReason: 'answers are complete', approvedAt: clock.now() });
      await expectMatchesDocument(c.http, res);

      await markVerified(d.id);
      const get = await request(c.http).get(`/v1/domains/${d.id}`).set(bob.auth).expect(200);
      expect(get.body.sending).toEqual({ allowed: true, reason: 'verified and approved' });
      await expectMatchesDocument(c.http, get);
    });

    it('puts an approved domain back in review when the answers change', async () => {
      const d = await registerDomain(c.http, alice, 'resubmit.example.com', 'ed25519');
      await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(alice.auth).send(answers()).expect(200);
      await request(c.http).post(`/v1/admin/domains/${d.id}/approve`).set(admin).send({ reason: 'fine' }).expect(200);
      const res = await request(c.http)
        .put(`/v1/domains/${d.id}/questionnaire`)
        .set(alice.auth)
        .send(answers({ nature: 'marketing' }))
        .expect(200);
      expect(res.body).toMatchObject({ approval: 'pending_review', questionnaire: { nature: 'marketing' }, review: { reason: 'fine', approvedAt: null } });
      await expectMatchesDocument(c.http, res);
    });

    it('rejects with a reason, and revokes an approval', async () => {
      const d = await registerDomain(c.http, alice, 'reject.example.com', 'ed25519');
      await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(alice.auth).send(answers()).expect(200);
      await markVerified(d.id);
      const res = await request(c.http).post(`/v1/admin/domains/${d.id}/reject`).set(admin).send({ reason: '  purchased list  ' }).expect(200);
      expect(res.body).toMatchObject({
        approval: 'rejected',
        sending: { allowed: false, reason: expect.stringMatching(/rejected/) },
        review: { reason: 'purchased list', approvedAt: null },
      });
      expect(await stored(d.id)).toMatchObject({ approval: 'rejected', approvalReason: 'purchased list' });
      await expectMatchesDocument(c.http, res);

      await request(c.http).post(`/v1/admin/domains/${d.id}/approve`).set(admin).send({ reason: 'list verified' }).expect(200);
      const revoked = await request(c.http).post(`/v1/admin/domains/${d.id}/reject`).set(admin).send({ reason: 'complaints' }).expect(200);
      expect(revoked.body).toMatchObject({ approval: 'rejected', sending: { allowed: false }, review: { reason: 'complaints', approvedAt: null } });
      await expectMatchesDocument(c.http, revoked);

      // A rejected owner may answer again.
      const again = await request(c.http).put(`/v1/domains/${d.id}/questionnaire`).set(alice.auth).send(answers()).expect(200);
      expect(again.body.approval).toBe('pending_review');
      await expectMatchesDocument(c.http, again);
    });

    it('approves before any questionnaire, but answers 409 to rejecting one', async () => {
      const a = await registerDomain(c.http, alice, 'override.example.com', 'ed25519');
      const ok = await request(c.http).post(`/v1/admin/domains/${a.id}/approve`).set(admin).send({ reason: 'known sender' }).expect(200);
      expect(ok.body.approval).toBe('approved');
      expect(ok.body).not.toHaveProperty('questionnaire');
      await expectMatchesDocument(c.http, ok);

      const b = await registerDomain(c.http, alice, 'unanswered.example.com', 'ed25519');
      const res = await request(c.http).post(`/v1/admin/domains/${b.id}/reject`).set(admin).send({ reason: 'no' }).expect(409);
      expect(res.body).toMatchObject({ status: 409, detail: expect.stringMatching(/questionnaire not submitted/) });
      await expectMatchesDocument(c.http, res);
      expect(await stored(b.id)).toMatchObject({ approval: 'not_submitted', approvalReason: null });
    });

    it.each([
      ['reason', {}],
      ['reason', { reason: '' }],
      ['reason', { reason: '   ' }],
      ['reason', { reason: 7 }],
      ['reason', { reason: 'x'.repeat(1001) }],
      ['approved', { reason: 'ok', approved: true }],
    ])('answers 400 to bad decision #%#, naming %s', async (field, body) => {
      for (const action of ['approve', 'reject']) {
        const res = await request(c.http).post(`/v1/admin/domains/${untouched}/${action}`).set(admin).send(body).expect(400);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
        await expectMatchesDocument(c.http, res);
      }
      expect(await stored(untouched)).toMatchObject({ approval: 'not_submitted' });
    });

    it.each(['nope', `dom_${'0'.repeat(26)}`])('answers 404 to the unknown id %p', async (id) => {
      for (const action of ['approve', 'reject']) {
        const res = await request(c.http).post(`/v1/admin/domains/${id}/${action}`).set(admin).send({ reason: 'x' }).expect(404);
        expect(res.body.status).toBe(404);
        await expectMatchesDocument(c.http, res);
      }
    });
  });

  it('documents the routes in /openapi.json', async () => {
    const res = await request(c.http).get('/openapi.json').expect(200);
    await expectMatchesDocument(c.http, res);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/v1/domains/{id}/questionnaire', '/v1/admin/domains/{id}/approve', '/v1/admin/domains/{id}/reject']),
    );
    expect(res.body.components.schemas.Questionnaire.required).toContain('consentStatement');
  });

  describe('writes and a running check of the same domain', () => {
    // On FerretDB an update rewrites the whole document, so a check result written while an
    // admin decides would undo the decision: every domain write waits for the domain's lock.
    it('makes an admin decision wait for the check that holds the domain', async () => {
      const d = await registerDomain(c.http, alice, 'locked.example.com', 'ed25519');
      await markVerified(d.id);
      const lock = new RedisLock(c.redis, c.config.queuePrefix);
      const token = await lock.acquire(domainLockKey(d.id), 30_000);
      expect(token).not.toBeNull();
      let settled = false;
      const approve = request(c.http).post(`/v1/admin/domains/${d.id}/approve`).set(admin).send({ reason: 'fine' }).then((r) => {
        settled = true;
        return r;
      });
      // It cannot finish while the check holds the lock: its write has not happened either.
      await until(async () => (await c.redis.exists(`${c.config.queuePrefix}:lock:${domainLockKey(d.id)}`)) === 1);
      await new Promise((r) => setTimeout(r, 300)); // proving a write does NOT happen needs time to pass
      expect(settled).toBe(false);
      expect((await stored(d.id))?.approval).toBe('not_submitted');
      await lock.release(domainLockKey(d.id), token!);
      expect((await approve).status).toBe(200);
      expect((await stored(d.id))?.approval).toBe('approved');
    });
  });
});
