import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '../errors';
import { smtpUserModel, type SmtpUserDoc } from './smtp-user.model';

/** An SMTP user as the service and the relay see it: the document, with `id` for `_id`. */
export type SmtpUser = Omit<SmtpUserDoc, '_id'> & { id: string };

/** What an insert ran into: a free slot, a taken slot, or (very rarely) a taken username. */
export type SmtpUserInsertResult = 'inserted' | 'slot_taken' | 'username_taken';

function toSmtpUser(doc: SmtpUserDoc): SmtpUser {
  return {
    id: doc._id,
    username: doc.username,
    domainId: doc.domainId,
    accountId: doc.accountId,
    slot: doc.slot,
    passwordHash: doc.passwordHash,
    createdAt: doc.createdAt,
  };
}

/** SMTP users; reads for the API are scoped by account, the relay's lookup is not. */
export class SmtpUserStore {
  private readonly model: Model<SmtpUserDoc>;

  constructor(conn: Connection) {
    this.model = smtpUserModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /**
   * Inserts a user into its slot. Both unique indexes answer 11000. MongoDB names the
   * index in the error's keyPattern; FerretDB v1 does not, so there we ask whether the
   * username exists (taking a clash for a taken slot would wrongly skip a free slot).
   */
  async insert(doc: SmtpUserDoc): Promise<SmtpUserInsertResult> {
    try {
      await this.model.create(doc);
      return 'inserted';
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const keyPattern = (err as { keyPattern?: Record<string, unknown> }).keyPattern;
      if (keyPattern) return 'username' in keyPattern ? 'username_taken' : 'slot_taken';
      return (await this.model.exists({ username: doc.username })) ? 'username_taken' : 'slot_taken';
    }
  }

  /** The account's users of one domain, oldest first. */
  async listForDomain(accountId: string, domainId: string): Promise<SmtpUser[]> {
    const docs = await this.model.find({ accountId, domainId }).sort({ _id: 1 }).lean<SmtpUserDoc[]>();
    return docs.map(toSmtpUser);
  }

  /** Any domain's user, by login name, for the relay's AUTH; null when there is none. */
  async findByUsername(username: string): Promise<SmtpUser | null> {
    const doc = await this.model.findOne({ username }).lean<SmtpUserDoc>();
    return doc ? toSmtpUser(doc) : null;
  }

  /** Which of these usernames still exist (the relay checks its open sessions with it). */
  async existingUsernames(usernames: string[]): Promise<Set<string>> {
    if (usernames.length === 0) return new Set();
    const docs = await this.model.find({ username: { $in: usernames } }, { username: 1 }).lean<Array<Pick<SmtpUserDoc, 'username'>>>();
    return new Set(docs.map((d) => d.username));
  }

  /** Deletes one user of the account's domain; false when there was none. */
  async deleteForAccount(accountId: string, domainId: string, username: string): Promise<boolean> {
    const res = await this.model.deleteOne({ accountId, domainId, username });
    return res.deletedCount === 1;
  }

  /** Deletes every user of a domain (when the domain goes); returns how many. */
  async deleteForDomain(domainId: string): Promise<number> {
    return (await this.model.deleteMany({ domainId })).deletedCount;
  }
}
