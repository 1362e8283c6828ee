import type { ChangeNotifier } from '../events/change-notifier';
import type { Clock } from '../clock';
import { ConflictError, NotFoundError } from '../errors';
import { APPROVAL_TRANSITIONS, type ApprovalAction } from '../domains/domain-state';
import type { QuestionnaireDoc } from '../domains/domain.model';
import type { DecisionFields, DomainStore } from '../domains/domain.store';
import { withDomainLock } from '../domains/domain-lock';
import type { RedisLock } from '../queue/redis-lock';
import { toDomainResource, type DomainResource } from '../domains/domain.resource';

export type QuestionnaireAnswers = Omit<QuestionnaireDoc, 'submittedAt'>;

/** The seed's manual review: the owner answers the questionnaire, an admin decides. */
export class ApprovalService {
  constructor(
    private readonly store: DomainStore,
    private readonly clock: Clock,
    private readonly notifier: ChangeNotifier,
    private readonly lock: RedisLock,
  ) {}

  /**
   * Stores the account's questionnaire answers and sets `approval: pending_review`,
   * whatever the approval was before: new answers need a new review, even after an
   * approval. NotFoundError for any other account's domain.
   */
  async submitQuestionnaire(accountId: string, id: string, answers: QuestionnaireAnswers): Promise<DomainResource> {
    const now = this.clock.now();
    const doc = await withDomainLock(this.lock, id, () => this.store.saveQuestionnaire(accountId, id, { ...answers, submittedAt: now }, now));
    if (!doc) throw new NotFoundError('domain');
    await this.notifier.policyChanged(id);
    return toDomainResource(doc);
  }

  /**
   * Approves sending for any account's domain (admin). Allowed before the questionnaire
   * is submitted: the operator may have reviewed the sender by other means.
   */
  async approve(id: string, reason: string): Promise<DomainResource> {
    const now = this.clock.now();
    return this.decide(id, 'approve', { approval: 'approved', approvalReason: reason, reviewedAt: now, approvedAt: now, updatedAt: now });
  }

  /**
   * Rejects sending for any account's domain (admin), or revokes an approval.
   * ConflictError while the approval is `not_submitted`: there is neither an answer to
   * reject nor an approval to revoke, and the domain cannot send anyway.
   */
  async reject(id: string, reason: string): Promise<DomainResource> {
    const now = this.clock.now();
    return this.decide(id, 'reject', { approval: 'rejected', approvalReason: reason, reviewedAt: now, approvedAt: null, updatedAt: now });
  }

  private async decide(id: string, action: ApprovalAction, fields: DecisionFields): Promise<DomainResource> {
    const updated = await withDomainLock(this.lock, id, () => this.store.recordDecision(id, fields, APPROVAL_TRANSITIONS[action].from));
    const doc = await this.store.findById(id);
    if (!doc) throw new NotFoundError('domain');
    // Only the precondition keeps an existing domain from matching.
    if (!updated) throw new ConflictError(`questionnaire not submitted: ${doc.domain} has no answers to reject and no approval to revoke`);
    await this.notifier.policyChanged(id);
    return toDomainResource(doc);
  }
}
