import { Schema, type Connection, type Model } from 'mongoose';
import type { SealedSecret } from '../keys/key-cipher';
import type { DkimAlgorithm } from '../keys/dkim-keys';
import type { RecordStatus } from '../verification/verdict';
import type { DkimSelectorState } from './dkim-rotation';
import type { ReturnPathDoc } from './return-path';
import { APPROVAL_STATES, DOMAIN_STATUSES, type ApprovalState, type CheckState, type DomainEventType, type DomainStatus } from './domain-state';

export interface QuestionnaireDoc {
  nature: 'marketing' | 'transactional';
  websiteUrl: string;
  subscriberListStrategy: string;
  bounceHandling: string;
  unsubscribeMethod: string;
  sendingRateRationale: string;
  listHygiene: string;
  /** 1..4 distinct addresses (compared case-insensitively) for account-related mail. */
  contactEmails: string[];
  replyTo: string;
  consentStatement: true;
  unsubscribeLinkAgreement: true;
  htmlValidationProcess: string;
  submittedAt: Date;
}

export interface DkimSelectorDoc {
  selector: string;
  algorithm: DkimAlgorithm;
  keyType: 'rsa' | 'ed25519';
  /** The `p=` value. */
  publicKey: string;
  /** PKCS#8 PEM, sealed with AES-256-GCM under MASTER_KEY (aad: the selector). */
  privateKey: SealedSecret;
  /** Its place in a key rotation (dkim-rotation.ts); only the active selector signs. */
  status: DkimSelectorState;
  createdAt: Date;
  /** When it became active; absent on selectors issued before rotation (read as createdAt). */
  activatedAt?: Date | null;
  /** While retiring: when it retires (activation of its successor + DKIM_RETIRE_AFTER_MS). */
  retiresAt?: Date | null;
  retiredAt?: Date | null;
}

export interface NameserverVerdictDoc {
  host: string;
  ip: string;
  status: RecordStatus;
  found: string[];
  reason: string | null;
}

/** The latest verdict for one record, copied from the newest check for cheap reads. */
export interface RecordStateDoc {
  purpose: 'spf' | 'dkim';
  selector: string | null;
  status: RecordStatus;
  found: string[];
  reason: string | null;
  /** Suggested value when it differs from the issued one (a merged SPF record). */
  suggested: string | null;
  /** Advice that does not change the verdict (lookup counts, several SPF records). */
  warnings?: string[];
  nameservers: NameserverVerdictDoc[];
  /** When it fails: the likely mistake and the host label to type (verification/diagnosis.ts). */
  hint?: string | null;
}

export interface DomainDoc {
  _id: string;
  accountId: string;
  /** Lowercase A-label, no trailing dot. */
  domain: string;
  status: DomainStatus;
  approval: ApprovalState;
  approvalReason: string | null;
  /** Bumped on every state change; guards conditional writes and names events. */
  version: number;
  spfInclude: string;
  dkim: DkimSelectorDoc[];
  records: RecordStateDoc[];
  dmarc: { found: string | null; advice: string | null };
  /** The authoritative zone holding the domain, as the latest check found it; null before that. */
  zone?: string | null;
  startedAt: Date;
  deadlineAt: Date;
  nextCheckAt: Date | null;
  lastCheckedAt: Date | null;
  verifiedAt: Date | null;
  suspendedAt: Date | null;
  /** State-machine bookkeeping between checks. */
  checkState: CheckState | null;
  /**
   * When the active DKIM key took over, null while a rotation is pending: the auto-rotation
   * sweep's index (DKIM_AUTO_ROTATE_AFTER_MS). Absent on domains not checked since rotation
   * existed; their next check writes it.
   */
  dkimRotatableSince?: Date | null;
  /** When the owner last cancelled a DKIM rotation: the next automatic one waits DKIM_AUTO_ROTATE_AFTER_MS from then. */
  dkimRotationCancelledAt?: Date | null;
  /** The seed's questionnaire answers, once submitted. */
  questionnaire?: QuestionnaireDoc | null;
  /** When an admin last approved or rejected. */
  reviewedAt?: Date | null;
  /** When the current approval was granted; null once it is revoked or the answers change. */
  approvedAt?: Date | null;
  /** Normalised CIDRs that may connect to the relay for this domain; empty (the default) lets nobody in. */
  allowedIps?: string[];
  /** Recipients per second the relay accepts for this domain; null or absent: DEFAULT_RATE_PER_SECOND. Set by an admin. */
  rateLimitPerSecond?: number | null;
  /** Recipients per UTC day the relay accepts for this domain; null or absent: DEFAULT_DAILY_QUOTA. Set by an admin. */
  dailyQuota?: number | null;
  /** The custom MAIL FROM subdomain (PUT /v1/domains/:id/return-path); null or absent: none. */
  returnPath?: ReturnPathDoc | null;
  /**
   * Events written in the same single-document update as the transition that caused
   * them, then copied to `events` and cleared: no event is lost if a process dies
   * between the two, and none is doubled (their ids are unique). No transactions needed.
   */
  outbox: Array<{
    id: string;
    type: DomainEventType;
    version: number;
    at: Date;
    /** DKIM rotation events: the selector they name. */
    selector?: string;
  }>;
  /** When the oldest unpublished outbox event was written; null when the outbox is empty (indexed). */
  outboxSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const sealed = new Schema<SealedSecret>(
  { kid: String, alg: String, iv: String, tag: String, ct: String },
  { _id: false },
);

const dkimSelector = new Schema<DkimSelectorDoc>(
  {
    selector: { type: String, required: true },
    algorithm: { type: String, required: true },
    keyType: { type: String, required: true },
    publicKey: { type: String, required: true },
    privateKey: { type: sealed, required: true },
    status: { type: String, required: true },
    createdAt: { type: Date, required: true },
    activatedAt: { type: Date },
    retiresAt: { type: Date },
    retiredAt: { type: Date },
  },
  { _id: false },
);

const schema = new Schema<DomainDoc>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    domain: { type: String, required: true },
    status: { type: String, required: true, enum: DOMAIN_STATUSES },
    approval: { type: String, required: true, enum: APPROVAL_STATES },
    approvalReason: { type: String, default: null },
    version: { type: Number, required: true },
    spfInclude: { type: String, required: true },
    dkim: { type: [dkimSelector], required: true },
    records: { type: Schema.Types.Mixed, default: [] },
    dmarc: { type: Schema.Types.Mixed, default: { found: null, advice: null } },
    zone: { type: String, default: null },
    startedAt: { type: Date, required: true },
    deadlineAt: { type: Date, required: true },
    nextCheckAt: { type: Date, default: null },
    lastCheckedAt: { type: Date, default: null },
    verifiedAt: { type: Date, default: null },
    suspendedAt: { type: Date, default: null },
    checkState: { type: Schema.Types.Mixed, default: null },
    // Written by approval.store.ts (the seed's manual review).
    questionnaire: { type: Schema.Types.Mixed },
    reviewedAt: { type: Date },
    approvedAt: { type: Date },
    // Written by allowed-ip.store.ts.
    allowedIps: { type: [String], default: [] },
    // Written by DomainStore.setSendingLimits (admin); null: the configured default.
    rateLimitPerSecond: { type: Number, default: null },
    dailyQuota: { type: Number, default: null },
    // Written by ReturnPathService and the check (LifecycleService).
    returnPath: { type: Schema.Types.Mixed, default: null },
    outbox: { type: Schema.Types.Mixed, default: [] },
    outboxSince: { type: Date, default: null },
    dkimRotatableSince: { type: Date },
    dkimRotationCancelledAt: { type: Date },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'domains', minimize: false },
);
// One registration of a name per account; two accounts may each prove the same name.
schema.index({ accountId: 1, domain: 1 }, { unique: true });
// Cursor pagination within an account.
schema.index({ accountId: 1, _id: 1 });
// The sweeper's due query (DESIGN §2): work per tick grows with due domains only.
schema.index({ nextCheckAt: 1 });
// Outboxes left behind by a crash: a range on a Date, so nulls (empty outboxes) never match.
schema.index({ outboxSince: 1 });
// The auto-rotation sweep: a range on a Date, so pending rotations (null) never match.
schema.index({ dkimRotatableSince: 1 });
// mailwarden_domains{status}: one count per status, answered from the index.
schema.index({ status: 1 });
// The bounce intake: which domain a return-path subdomain belongs to.
schema.index({ 'returnPath.subdomain': 1 });

export function domainModel(conn: Connection): Model<DomainDoc> {
  return conn.models.Domain ?? conn.model<DomainDoc>('Domain', schema);
}
