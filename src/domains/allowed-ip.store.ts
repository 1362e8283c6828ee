import type { Connection, Model } from 'mongoose';
import { domainModel, type DomainDoc } from './domain.model';

/** The relay's IP allowlist, kept on the domain document; every access is scoped by account. */
export class AllowedIpStore {
  private readonly model: Model<DomainDoc>;

  constructor(conn: Connection) {
    this.model = domainModel(conn);
  }

  /**
   * Replaces the allowlist of the account's domain; false when the account has no
   * such domain. Through the driver collection, like the approval writes, so that the
   * version bump travels in the same single-document update.
   */
  async replace(accountId: string, id: string, cidrs: string[], now: Date): Promise<boolean> {
    const res = await this.model.collection.updateOne(
      { _id: id, accountId } as never,
      // Bumping version makes readers that cache the domain by version see the change.
      { $set: { allowedIps: cidrs, updatedAt: now }, $inc: { version: 1 } },
    );
    return res.matchedCount === 1;
  }

  /** The allowlist of the account's domain (domains made before allowlists read as []); null when there is no such domain. */
  async find(accountId: string, id: string): Promise<string[] | null> {
    const doc = await this.model.findOne({ _id: id, accountId }, { allowedIps: 1 }).lean<Pick<DomainDoc, '_id' | 'allowedIps'>>();
    return doc ? (doc.allowedIps ?? []) : null;
  }
}
