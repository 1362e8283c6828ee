import request from 'supertest';
import { API_KEY_CACHE_TTL_MS, hashApiKey } from '../../src/accounts/account.service';
import { ManualClock } from '../../src/clock';
import { createAccount } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';

/** Account keys are resolved from the store once per TTL, keyed by their SHA-256; forgetKey ends that at once. */
describe('API key cache', () => {
  let c: TestContainer;
  const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));

  beforeAll(async () => {
    c = await createTestContainer({}, { clock });
  });
  afterAll(async () => {
    await c.dispose();
  });

  const listDomains = (auth: { Authorization: string }) => request(c.http).get('/v1/domains').set(auth);
  /** Removes the key from the store behind the service's back, as another replica's revocation would. */
  const revokeInStore = (apiKey: string) => c.mongo.collection('accounts').deleteOne({ apiKeyHash: hashApiKey(apiKey) });

  it('answers from the cache within the TTL, and asks the store again after it', async () => {
    const acct = await createAccount(c.http, 'Cached');
    await listDomains(acct.auth).expect(200);
    await revokeInStore(acct.apiKey);
    // Still trusted: the key was resolved less than a TTL ago.
    clock.advance(API_KEY_CACHE_TTL_MS - 1);
    await listDomains(acct.auth).expect(200);
    clock.advance(1);
    const res = await listDomains(acct.auth).expect(401);
    expect(res.body.detail).toBe('the API key is not valid');
  });

  it('forgets a key at once when told (a revocation or rotation in this process)', async () => {
    const acct = await createAccount(c.http, 'Forgotten');
    await listDomains(acct.auth).expect(200);
    await revokeInStore(acct.apiKey);
    c.services.accounts.forgetKey(hashApiKey(acct.apiKey));
    await listDomains(acct.auth).expect(401);
  });
});
