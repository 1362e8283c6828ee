import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import request from 'supertest';
import { ED25519_SPKI_PREFIX } from '../../src/keys/dkim-keys';
import type { DomainDoc } from '../../src/domains/domain.model';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';

interface TxtRecord {
  purpose: string;
  name: string;
  value: string;
  strings: string[];
  selector?: string;
}

function tag(value: string, name: string): string | undefined {
  return value
    .split(';')
    .map((t) => t.trim().split('='))
    .find(([k]) => k === name)
    ?.slice(1)
    .join('=');
}

function expectStringsRule(record: TxtRecord) {
  for (const s of record.strings) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(255);
  expect(record.strings.join('')).toBe(record.value);
}

describe('domain registration', () => {
  let c: TestContainer;
  let alice: TestAccount;
  let bob: TestAccount;

  beforeAll(async () => {
    c = await createTestContainer({ SPF_INCLUDE_DOMAIN: '_spf.relay.example', PROPAGATION_WINDOW_MS: '3600000' });
    alice = await createAccount(c.http, 'Alice');
    bob = await createAccount(c.http, 'Bob');
  });
  afterAll(async () => {
    await c.dispose();
  });

  async function storedDomain(id: string): Promise<DomainDoc> {
    return (await c.mongo.collection('domains').findOne({ _id: id } as never)) as unknown as DomainDoc;
  }

  it('registers a domain with an RSA-2048 key whose stored private key signs for the published p=', async () => {
    const before = Date.now();
    const res = await request(c.http).post('/v1/domains').set(alice.auth).send({ domain: 'Mail.Example.COM.' }).expect(201);
    const d = res.body;
    expect(res.headers.location).toBe(`/v1/domains/${d.id}`);
    await expectMatchesDocument(c.http, res);
    expect(d).toMatchObject({
      domain: 'mail.example.com',
      status: 'pending',
      approval: 'not_submitted',
      sending: { allowed: false, reason: expect.any(String) },
      dmarc: { found: null, advice: null },
    });
    expect(Date.parse(d.verification.deadlineAt) - Date.parse(d.verification.startedAt)).toBe(3600000);
    expect(Date.parse(d.verification.nextCheckAt)).toBeGreaterThanOrEqual(before - 1000);

    const [spf, dkim] = d.records as TxtRecord[];
    expect(spf).toMatchObject({ purpose: 'spf', type: 'TXT', name: 'mail.example.com', value: 'v=spf1 include:_spf.relay.example ~all', status: 'pending' });
    expect(dkim.selector).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(dkim).toMatchObject({ purpose: 'dkim', type: 'TXT', name: `${dkim.selector}._domainkey.mail.example.com`, status: 'pending' });
    expect(dkim.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
    expectStringsRule(spf);
    expectStringsRule(dkim);

    // Never in a response: the private key in any form.
    expect(JSON.stringify(d)).not.toMatch(/PRIVATE|privateKey|"ct"|"iv"/);

    const stored = await storedDomain(d.id);
    const sel = stored.dkim[0];
    expect(JSON.stringify(stored)).not.toContain('PRIVATE KEY');
    expect(sel.privateKey).toMatchObject({ alg: 'A256GCM', kid: expect.any(String), iv: expect.any(String), ct: expect.any(String) });

    const pem = c.cipher.open(sel.privateKey, sel.selector);
    const pub = createPublicKey({ key: Buffer.from(tag(dkim.value, 'p')!, 'base64'), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const sig = sign('sha256', Buffer.from('dkim canonical header block'), createPrivateKey(pem));
    expect(verify('sha256', Buffer.from('dkim canonical header block'), pub, sig)).toBe(true);
  });

  it('issues ed25519 keys as k=ed25519 with the raw 32-byte key (RFC 8463)', async () => {
    const d = await registerDomain(c.http, alice, 'ed.example.net', 'ed25519');
    const dkim = (d.records as TxtRecord[]).find((r) => r.purpose === 'dkim')!;
    expect(tag(dkim.value, 'k')).toBe('ed25519');
    const raw = Buffer.from(tag(dkim.value, 'p')!, 'base64');
    expect(raw).toHaveLength(32);
    expect(dkim.strings).toEqual([dkim.value]);

    const stored = await storedDomain(d.id);
    const pem = c.cipher.open(stored.dkim[0].privateKey, dkim.selector!);
    const pub = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    const sig = sign(null, Buffer.from('msg'), createPrivateKey(pem));
    expect(verify(null, Buffer.from('msg'), pub, sig)).toBe(true);
  });

  it('splits an RSA-4096 DKIM value into strings of at most 255 bytes', async () => {
    const d = await registerDomain(c.http, alice, 'big.example.org', 'rsa-4096');
    const dkim = (d.records as TxtRecord[]).find((r) => r.purpose === 'dkim')!;
    expect(dkim.value.length).toBeGreaterThan(700);
    expect(dkim.strings.length).toBeGreaterThanOrEqual(3);
    expectStringsRule(dkim);
    const pub = createPublicKey({ key: Buffer.from(tag(dkim.value, 'p')!, 'base64'), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it.each([
    [{ domain: 'localhost' }, 'domain'],
    [{ domain: '192.0.2.10' }, 'domain'],
    [{ domain: '[2001:db8::1]' }, 'domain'],
    [{ domain: 'a..example.com' }, 'domain'],
    [{ domain: `${'x'.repeat(64)}.example.com` }, 'domain'],
    [{ domain: `${'abcdefghij.'.repeat(25)}example.com` }, 'domain'],
    [{ domain: 'bad_char.example.com' }, 'domain'],
    [{ domain: '' }, 'domain'],
    [{ domain: 42 }, 'domain'],
    [{ domain: null }, 'domain'],
    [{}, 'domain'],
    [{ domain: 'ok.example.com', extra: true }, 'extra'],
    [{ domain: 'ok.example.com', dkim: { algorithm: 'dsa' } }, 'dkim.algorithm'],
    [{ domain: 'ok.example.com', dkim: { algorithm: 'ed25519', bits: 1 } }, 'dkim.bits'],
    [{ domain: 'ok.example.com', dkim: 'rsa' }, 'dkim'],
    [[], 'body'],
    ['"example.com"', 'body'],
  ])('answers 400 problem+json to %j, naming %s', async (body, field) => {
    const res = await request(c.http)
      .post('/v1/domains')
      .set(alice.auth)
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body))
      .expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: expect.any(String), title: 'Bad Request', status: 400, detail: expect.any(String) });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    await expectMatchesDocument(c.http, res);
  });

  it('answers 400 to malformed JSON, 400 to a non-JSON body, and 413 over 100 kB', async () => {
    const bad = await request(c.http).post('/v1/domains').set(alice.auth).set('Content-Type', 'application/json').send('{"domain":').expect(400);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
    await request(c.http).post('/v1/domains').set(alice.auth).set('Content-Type', 'text/plain').send('example.com').expect(400);
    const big = await request(c.http)
      .post('/v1/domains')
      .set(alice.auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ domain: 'a.example.com', pad: 'x'.repeat(110_000) }))
      .expect(413);
    expect(big.body.status).toBe(413);
  });

  it('answers 409 to the same domain twice for one account, and lets another account register it', async () => {
    await registerDomain(c.http, alice, 'dup.example.com');
    const res = await request(c.http).post('/v1/domains').set(alice.auth).send({ domain: 'DUP.example.com.' }).expect(409);
    expect(res.body).toMatchObject({ status: 409 });
    await expectMatchesDocument(c.http, res);
    const other = await registerDomain(c.http, bob, 'dup.example.com');
    const mine = (await request(c.http).get('/v1/domains?limit=100').set(alice.auth)).body.data.find((d: { domain: string }) => d.domain === 'dup.example.com');
    // Each account proves control with its own selector.
    expect(other.records[1].selector).not.toBe(mine.records[1].selector);
  });

  it('keeps accounts apart on every route', async () => {
    const a = await registerDomain(c.http, alice, 'private.example.com');
    const get = await request(c.http).get(`/v1/domains/${a.id}`).set(bob.auth).expect(404);
    expect(get.body.status).toBe(404);
    await request(c.http).delete(`/v1/domains/${a.id}`).set(bob.auth).expect(404);
    const list = await request(c.http).get('/v1/domains?limit=100').set(bob.auth).expect(200);
    await expectMatchesDocument(c.http, list);
    await expectMatchesDocument(c.http, get);
    expect(list.body.data.map((d: { id: string }) => d.id)).not.toContain(a.id);
    await request(c.http).get(`/v1/domains/${a.id}`).set(alice.auth).expect(200);
  });

  it('pages through domains with a cursor', async () => {
    const carol = await createAccount(c.http, 'Carol');
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) ids.push((await registerDomain(c.http, carol, `p${n}.example.com`, 'ed25519')).id);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res: request.Response = await request(c.http)
        .get('/v1/domains')
        .query(after ? { limit: '2', after } : { limit: '2' })
        .set(carol.auth)
        .expect(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      await expectMatchesDocument(c.http, res);
      seen.push(...res.body.data.map((d: { id: string }) => d.id));
      after = res.body.nextCursor;
    } while (after);
    expect(seen).toEqual(ids);
  });

  it.each([['limit=0'], ['limit=101'], ['limit=ten'], ['after=nope'], ['sort=desc']])('answers 400 to ?%s', async (qs) => {
    const res = await request(c.http).get(`/v1/domains?${qs}`).set(alice.auth).expect(400);
    expect(res.body.errors[0].field).toBe(qs.split('=')[0]);
    await expectMatchesDocument(c.http, res);
  });

  it('sends an ETag and answers 304 to If-None-Match', async () => {
    const d = await registerDomain(c.http, alice, 'etag.example.com', 'ed25519');
    const first = await request(c.http).get(`/v1/domains/${d.id}`).set(alice.auth).expect(200);
    expect(first.headers.etag).toBeTruthy();
    await expectMatchesDocument(c.http, first);
    const second = await request(c.http).get(`/v1/domains/${d.id}`).set(alice.auth).set('If-None-Match', first.headers.etag).expect(304);
    expect(second.text).toBe('');
    await expectMatchesDocument(c.http, second);
    await request(c.http).get(`/v1/domains/${d.id}`).set(alice.auth).set('If-None-Match', 'W/"other"').expect(200);
  });

  it('deletes a domain', async () => {
    const d = await registerDomain(c.http, alice, 'gone.example.com', 'ed25519');
    await expectMatchesDocument(c.http, await request(c.http).delete(`/v1/domains/${d.id}`).set(alice.auth).expect(204));
    await request(c.http).get(`/v1/domains/${d.id}`).set(alice.auth).expect(404);
    await request(c.http).delete(`/v1/domains/${d.id}`).set(alice.auth).expect(404);
    expect(await storedDomain(d.id)).toBeNull();
  });

  it.each(['nope', 'dom_', '../../etc/passwd', 'acc_01m892aqj6qvykqdcrqewmc5a4'])('answers 404 to the id %p', async (id) => {
    await request(c.http).get(`/v1/domains/${encodeURIComponent(id)}`).set(alice.auth).expect(404);
  });
});
