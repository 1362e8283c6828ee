import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { ConflictError, NotFoundError, UnavailableError } from '../errors';
import { generateDkimKeyPair, type DkimAlgorithm } from '../keys/dkim-keys';
import type { KeyCipher } from '../keys/key-cipher';
import type { Logger } from '../logger';
import type { RedisLock } from '../queue/redis-lock';
import { activeSelector, cancelRotation, rotatableSince, rotationConflict, rotationNextCheck, startRotation, type RotationPolicy } from './dkim-rotation';
import { withDomainLock } from './domain-lock';
import type { DomainDoc } from './domain.model';
import { toDomainResource, type DomainResource } from './domain.resource';
import type { DomainStore } from './domain.store';
import type { LifecycleService } from './lifecycle.service';

export interface DkimRotationOptions {
  rotation: RotationPolicy;
  /** DKIM_AUTO_ROTATE_AFTER_MS; null: no automatic rotation. */
  autoRotateAfterMs: number | null;
  /** Domains the sweep starts a rotation for per tick (each costs a key generation). */
  autoRotateBatch: number;
}

/**
 * Starts and cancels DKIM key rotations (dkim-rotation.ts has the rules; the checks move
 * them on). The new private key is sealed at rest like the first one and never returned.
 */
export class DkimRotationService {
  constructor(
    private readonly domains: DomainStore,
    private readonly lifecycle: LifecycleService,
    private readonly cipher: KeyCipher,
    private readonly lock: RedisLock,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: DkimRotationOptions,
  ) {}

  /**
   * Adds a new selector (a fresh UUID and key pair, `algorithm` or the active key's) as
   * `pending`; checks activate it once its record passes everywhere. ConflictError (409)
   * while another rotation is pending; NotFoundError for another account's domain.
   */
  async rotate(accountId: string, domainId: string, algorithm?: DkimAlgorithm): Promise<DomainResource> {
    const d = await this.domains.findForAccount(accountId, domainId);
    if (!d) throw new NotFoundError('domain');
    return toDomainResource(await this.start(d, algorithm, () => this.domains.findForAccount(accountId, domainId)));
  }

  /** Removes the pending selector of the account's domain; ConflictError (409) when no rotation is pending. */
  async cancel(accountId: string, domainId: string): Promise<DomainResource> {
    const doc = await withDomainLock(this.lock, domainId, async () => {
      const d = await this.domains.findForAccount(accountId, domainId);
      if (!d) throw new NotFoundError('domain');
      const result = cancelRotation(d.dkim);
      if ('conflict' in result) throw new ConflictError(result.conflict);
      const now = this.clock.now();
      const set: Partial<DomainDoc> = {
        dkim: result.selectors,
        dkimRotatableSince: rotatableSince(result.selectors, now),
        dkimRotationCancelledAt: now,
        records: d.records.filter((r) => r.selector !== result.cancelled),
        version: d.version + 1,
        updatedAt: now,
      };
      await this.write(d, set);
      this.logger.info({ domainId, selector: result.cancelled }, 'dkim rotation cancelled');
      return { ...d, ...set };
    });
    return toDomainResource(doc);
  }

  /**
   * The sweep's part (DKIM_AUTO_ROTATE_AFTER_MS): starts a rotation for verified domains
   * whose active key is older, at most `autoRotateBatch` per call. Returns how many started.
   */
  async autoRotate(): Promise<number> {
    const after = this.options.autoRotateAfterMs;
    if (after === null) return 0;
    const cutoff = new Date(this.clock.now().getTime() - after);
    const due = await this.domains.findRotationDue(cutoff, this.options.autoRotateBatch);
    let started = 0;
    for (const d of due) {
      try {
        await this.start(d, undefined, () => this.domains.findById(d._id));
        started++;
      } catch (err) {
        // Another rotation won the race, or the domain is gone or busy: the next tick looks again.
        this.logger.warn({ domainId: d._id, err: (err as Error).message }, 'automatic dkim rotation not started');
      }
    }
    return started;
  }

  /** Generates the key outside the lock (it may take a while), then adds it under the lock if nothing conflicts. */
  private async start(d: DomainDoc, algorithm: DkimAlgorithm | undefined, reread: () => Promise<DomainDoc | null>): Promise<DomainDoc> {
    const conflict = rotationConflict(d.dkim);
    if (conflict) throw new ConflictError(conflict);
    const alg = algorithm ?? activeSelector(d.dkim)!.algorithm;
    const key = await generateDkimKeyPair(alg);
    return withDomainLock(this.lock, d._id, async () => {
      const cur = await reread();
      if (!cur) throw new NotFoundError('domain');
      const again = rotationConflict(cur.dkim);
      if (again) throw new ConflictError(again);
      const now = this.clock.now();
      const selector = randomUUID();
      const step = startRotation(cur.dkim, {
        selector,
        algorithm: alg,
        keyType: key.keyType,
        publicKey: key.publicKey,
        privateKey: this.cipher.seal(key.privateKeyPem, selector),
        status: 'pending',
        createdAt: now,
      });
      const version = cur.version + 1;
      // A failed domain is not checked (nextCheckAt null) until verify opens a new window.
      const due = rotationNextCheck(step.selectors, now, this.options.rotation);
      const nextCheckAt = cur.nextCheckAt && due && due < cur.nextCheckAt ? due : cur.nextCheckAt;
      const outbox = [...(cur.outbox ?? []), ...step.events.map((e) => ({ id: `${cur._id}-${version}`, version, at: now, ...e }))];
      const set: Partial<DomainDoc> = {
        dkim: step.selectors,
        dkimRotatableSince: null,
        nextCheckAt,
        version,
        outbox,
        outboxSince: cur.outboxSince ?? now,
        updatedAt: now,
      };
      await this.write(cur, set);
      this.logger.info({ domainId: cur._id, selector, algorithm: alg }, 'dkim rotation started');
      const doc = { ...cur, ...set };
      await this.lifecycle.publishOutbox(doc);
      return doc;
    });
  }

  /** The guarded write, under the domain's lock: it only misses when something wrote without the lock. */
  private async write(d: DomainDoc, set: Partial<DomainDoc>): Promise<void> {
    if (!(await this.domains.updateIfVersion(d._id, d.version, set))) throw new UnavailableError('the domain changed meanwhile; try again');
  }
}
