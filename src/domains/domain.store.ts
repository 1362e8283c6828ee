import type { Connection, Model } from 'mongoose';
import type { ApprovalState } from './domain-state';
import { domainModel, type DomainDoc, type QuestionnaireDoc } from './domain.model';

/** The fields one admin decision sets. */
export interface DecisionFields {
  approval: Extract<ApprovalState, 'approved' | 'rejected'>;
  approvalReason: string;
  reviewedAt: Date;
  approvedAt: Date | null;
  updatedAt: Date;
}

/** Every query is scoped by account; another account's domain simply does not exist here. */
export class DomainStore {
  private readonly model: Model<DomainDoc>;

  constructor(conn: Connection) {
    this.model = domainModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Inserts a new domain; a duplicate (accountId, domain) rejects with code 11000. */
  async insert(doc: DomainDoc): Promise<void> {
    await this.model.create(doc);
  }

  /** How many domains the account has (the (accountId, domain) index answers it). */
  async countForAccount(accountId: string): Promise<number> {
    return this.model.countDocuments({ accountId });
  }

  /** Domains per status, for the metrics scrape (the status index answers each count). */
  async countByStatus(statuses: readonly string[]): Promise<Record<string, number>> {
    const counts = await Promise.all(statuses.map((status) => this.model.countDocuments({ status })));
    return Object.fromEntries(statuses.map((s, i) => [s, counts[i]]));
  }

  async findForAccount(accountId: string, id: string): Promise<DomainDoc | null> {
    return this.model.findOne({ _id: id, accountId }).lean<DomainDoc>();
  }

  /** A page of the account's domains in id (creation) order, after the cursor. */
  async listForAccount(accountId: string, limit: number, after?: string): Promise<DomainDoc[]> {
    const filter: Record<string, unknown> = { accountId };
    if (after) filter._id = { $gt: after };
    return this.model.find(filter).sort({ _id: 1 }).limit(limit).lean<DomainDoc[]>();
  }

  /** The account's domain by name (lowercase A-label). */
  async findByName(accountId: string, domain: string): Promise<DomainDoc | null> {
    return this.model.findOne({ accountId, domain }).lean<DomainDoc>();
  }

  /** Any account's domain, for workers. */
  async findById(id: string): Promise<DomainDoc | null> {
    return this.model.findOne({ _id: id }).lean<DomainDoc>();
  }

  /** The domains whose return path is `subdomain` (any account: two may claim one name, only a verified one counts). */
  async findByReturnPath(subdomain: string): Promise<DomainDoc[]> {
    return this.model.find({ 'returnPath.subdomain': subdomain }).limit(20).lean<DomainDoc[]>();
  }

  /**
   * One batch of due domains, ordered by (nextCheckAt, _id) after the cursor: an
   * index range scan on nextCheckAt, so a tick costs O(due), not O(all domains).
   */
  async findDue(now: Date, limit: number, after?: { nextCheckAt: Date; id: string }): Promise<Array<{ _id: string; nextCheckAt: Date }>> {
    const filter = after
      ? {
          $or: [
            { nextCheckAt: { $gt: after.nextCheckAt, $lte: now } },
            { nextCheckAt: after.nextCheckAt, _id: { $gt: after.id } },
          ],
        }
      : { nextCheckAt: { $lte: now } };
    return this.model
      .find(filter, { _id: 1, nextCheckAt: 1 })
      .sort({ nextCheckAt: 1, _id: 1 })
      .limit(limit)
      .lean<Array<{ _id: string; nextCheckAt: Date }>>();
  }

  /**
   * Writes `set` only if the domain is still at `version` (the second guard after the
   * per-domain lock: a stale result never overwrites a newer one). False when stale.
   */
  async updateIfVersion(id: string, version: number, set: Partial<DomainDoc>): Promise<boolean> {
    const res = await this.model.updateOne({ _id: id, version }, { $set: set });
    return res.matchedCount === 1;
  }

  /** Domains whose outbox has held events since `olderThan` or before: left behind by a crash. */
  async findWithOutbox(olderThan: Date, limit: number): Promise<DomainDoc[]> {
    return this.model.find({ outboxSince: { $lte: olderThan } }).limit(limit).lean<DomainDoc[]>();
  }

  /** Every domain with a non-empty allowlist, for the relay's cache. */
  async findAllowlists(): Promise<Array<{ domainId: string; cidrs: string[] }>> {
    const docs = await this.model.find({ 'allowedIps.0': { $exists: true } }, { _id: 1, allowedIps: 1 }).lean<Array<{ _id: string; allowedIps?: string[] }>>();
    return docs.map((d) => ({ domainId: d._id, cidrs: d.allowedIps ?? [] }));
  }

  /**
   * Stores the questionnaire answers and puts the domain in review; null when the
   * account has no such domain. A changed questionnaire needs a fresh review, so an
   * earlier approval no longer holds. Every write below bumps version, so a check that
   * read the domain before it loses its guarded update.
   */
  async saveQuestionnaire(accountId: string, id: string, questionnaire: QuestionnaireDoc, now: Date): Promise<DomainDoc | null> {
    const res = await this.model.collection.updateOne(
      { _id: id, accountId } as never,
      { $set: { questionnaire, approval: 'pending_review', approvedAt: null, updatedAt: now }, $inc: { version: 1 } },
    );
    if (res.matchedCount === 0) return null;
    return this.findForAccount(accountId, id);
  }

  /**
   * Records an admin decision if the domain's approval is one of `fromApproval`
   * (checked in the same write, so a concurrent change cannot slip between). False when
   * nothing matched: the domain is missing or in another state.
   */
  async recordDecision(id: string, fields: DecisionFields, fromApproval: readonly ApprovalState[]): Promise<boolean> {
    const res = await this.model.collection.updateOne(
      { _id: id, approval: { $in: [...fromApproval] } } as never,
      { $set: fields, $inc: { version: 1 } },
    );
    return res.matchedCount === 1;
  }

  /** Replaces the relay allowlist of the account's domain; false when the account has no such domain. */
  async replaceAllowedIps(accountId: string, id: string, cidrs: string[], now: Date): Promise<boolean> {
    const res = await this.model.collection.updateOne(
      { _id: id, accountId } as never,
      // Bumping version makes readers that cache the domain by version see the change.
      { $set: { allowedIps: cidrs, updatedAt: now }, $inc: { version: 1 } },
    );
    return res.matchedCount === 1;
  }

  /** The allowlist of the account's domain (domains made before allowlists read as []); null when there is no such domain. */
  async findAllowedIps(accountId: string, id: string): Promise<string[] | null> {
    const doc = await this.model.findOne({ _id: id, accountId }, { allowedIps: 1 }).lean<Pick<DomainDoc, '_id' | 'allowedIps'>>();
    return doc ? (doc.allowedIps ?? []) : null;
  }

  /**
   * Sets any account's domain's sending limits (admin); a null limit goes back to the
   * configured default. The domain as written, or null when there is no such domain.
   */
  async setSendingLimits(id: string, limits: Partial<Pick<DomainDoc, 'rateLimitPerSecond' | 'dailyQuota'>>, now: Date): Promise<DomainDoc | null> {
    const res = await this.model.collection.updateOne(
      { _id: id } as never,
      // Bumping version makes readers that cache the domain by version see the change.
      { $set: { ...limits, updatedAt: now }, $inc: { version: 1 } },
    );
    if (res.matchedCount === 0) return null;
    return this.findById(id);
  }

  /**
   * Verified domains whose active DKIM key took over at `cutoff` or before and that have no
   * rotation pending (DKIM_AUTO_ROTATE_AFTER_MS): a range on the indexed dkimRotatableSince,
   * oldest first, which pending rotations (null) never match.
   */
  async findRotationDue(cutoff: Date, limit: number): Promise<DomainDoc[]> {
    return this.model.find({ dkimRotatableSince: { $lte: cutoff }, status: 'verified' }).sort({ dkimRotatableSince: 1 }).limit(limit).lean<DomainDoc[]>();
  }

  /** Deletes the account's domain; false when there was none. */
  async deleteForAccount(accountId: string, id: string): Promise<boolean> {
    const res = await this.model.deleteOne({ _id: id, accountId });
    return res.deletedCount === 1;
  }
}
