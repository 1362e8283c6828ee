import type { ApprovalFields, QuestionnaireDoc } from './domain.model';
import type { Connection, Model } from 'mongoose';
import { domainModel, type ApprovalState, type DomainDoc } from './domain.model';

export type ReviewedDomainDoc = DomainDoc & ApprovalFields;

/** The fields one admin decision sets. */
export interface DecisionFields {
  approval: Extract<ApprovalState, 'approved' | 'rejected'>;
  approvalReason: string;
  reviewedAt: Date;
  approvedAt: Date | null;
  updatedAt: Date;
}

/**
 * Approval state on domain documents. The owner's writes are scoped by account; the
 * admin's are not. Writes go through the driver collection because the domain schema
 * does not declare the review fields yet and mongoose would drop them; reads use lean(),
 * which returns every stored field.
 */
export class ApprovalStore {
  private readonly model: Model<DomainDoc>;

  constructor(conn: Connection) {
    this.model = domainModel(conn);
  }

  /** Stores the answers and puts the domain in review; null when the account has no such domain. */
  async saveQuestionnaire(accountId: string, id: string, questionnaire: QuestionnaireDoc, now: Date): Promise<ReviewedDomainDoc | null> {
    const res = await this.model.collection.updateOne(
      { _id: id, accountId } as never,
      // A changed questionnaire needs a fresh review, so an earlier approval no longer holds.
      // Bumping version makes a check that read the domain before this write lose its guarded update.
      { $set: { questionnaire, approval: 'pending_review', approvedAt: null, updatedAt: now }, $inc: { version: 1 } },
    );
    if (res.matchedCount === 0) return null;
    return this.model.findOne({ _id: id, accountId }).lean<ReviewedDomainDoc>();
  }

  /**
   * Records an admin decision unless the domain's approval is one of `unlessApproval`
   * (checked in the same write, so a concurrent change cannot slip between). False when
   * nothing matched: the domain is missing or in an excluded state.
   */
  async recordDecision(id: string, fields: DecisionFields, unlessApproval: ApprovalState[] = []): Promise<boolean> {
    const filter: Record<string, unknown> = { _id: id };
    if (unlessApproval.length) filter.approval = { $nin: unlessApproval };
    const res = await this.model.collection.updateOne(filter as never, { $set: fields, $inc: { version: 1 } });
    return res.matchedCount === 1;
  }

  /** Any account's domain, for the admin. */
  async findById(id: string): Promise<ReviewedDomainDoc | null> {
    return this.model.findOne({ _id: id }).lean<ReviewedDomainDoc>();
  }
}

export type { ApprovalFields, QuestionnaireDoc };
