import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';
import { newId } from '../ids';
import type { Account, AccountStore } from './account.store';

/** Who is calling: the operator (admin key) or one account. */
export type Principal = { kind: 'admin' } | { kind: 'account'; account: Account };

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class AccountService {
  private readonly adminKeyHash: Buffer;

  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    adminApiKey: string,
  ) {
    this.adminKeyHash = createHash('sha256').update(adminApiKey, 'utf8').digest();
  }

  /** Creates an account and returns its API key; the key is shown only here and stored as SHA-256. */
  async create(name: string): Promise<{ account: Account; apiKey: string }> {
    const apiKey = `mwk_${randomBytes(32).toString('base64url')}`;
    const account = await this.store.insert({
      _id: newId('acc'),
      name,
      apiKeyHash: hashApiKey(apiKey),
      createdAt: this.clock.now(),
    });
    return { account, apiKey };
  }

  /** Resolves a bearer key to a principal, or null when it is unknown. */
  async authenticate(key: string): Promise<Principal | null> {
    const digest = createHash('sha256').update(key, 'utf8').digest();
    // Constant-time comparison of fixed-length digests: no timing signal about the admin key.
    if (timingSafeEqual(digest, this.adminKeyHash)) return { kind: 'admin' };
    const account = await this.store.findByKeyHash(digest.toString('hex'));
    return account ? { kind: 'account', account } : null;
  }
}
