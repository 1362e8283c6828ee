import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';
import { newId } from '../ids';
import type { Account, AccountStore } from './account.store';

/** Who is calling: the operator (admin key) or one account. */
export type Principal = { kind: 'admin' } | { kind: 'account'; account: Account };

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** How long a resolved account key is trusted without asking the store again. */
export const API_KEY_CACHE_TTL_MS = 10_000;
/** Keys kept at most; the oldest entry goes first. */
const API_KEY_CACHE_MAX = 10_000;

export class AccountService {
  private readonly adminKeyHash: Buffer;
  /**
   * Account keys resolved lately, by the key's SHA-256 (never the key itself): a request
   * needs no store read for a key seen within API_KEY_CACHE_TTL_MS. Unknown keys are not
   * kept (a flood of made-up keys cannot fill it), and forgetKey drops a revoked or
   * rotated key at once in this process; other replicas drop it within the TTL.
   */
  private readonly keys = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(
    private readonly store: AccountStore,
    private readonly clock: Clock,
    adminApiKey: string,
    private readonly keyCacheTtlMs = API_KEY_CACHE_TTL_MS,
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
    const hash = digest.toString('hex');
    const now = this.clock.now().getTime();
    const hit = this.keys.get(hash);
    if (hit && hit.expiresAt > now) return hit.principal;
    if (hit) this.keys.delete(hash);
    const account = await this.store.findByKeyHash(hash);
    if (!account) return null;
    const principal: Principal = { kind: 'account', account };
    if (this.keyCacheTtlMs > 0) {
      if (this.keys.size >= API_KEY_CACHE_MAX) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(hash, { principal, expiresAt: now + this.keyCacheTtlMs });
    }
    return principal;
  }

  /** Stops trusting a key at once (its SHA-256 hex, as stored): call it when a key is revoked or rotated. */
  forgetKey(apiKeyHash: string): void {
    this.keys.delete(apiKeyHash);
  }
}
