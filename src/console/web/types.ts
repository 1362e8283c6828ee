// The API's resources as the console reads them (DESIGN §6; the zod schemas in
// src/domains/domain.resource.ts and return-path.resource.ts are the authority).

export type RecordStatus = 'pass' | 'fail' | 'temperror' | 'pending';

export interface NameserverVerdict {
  host: string;
  ip: string;
  status: RecordStatus;
  found: string[];
  reason: string | null;
}

export type SelectorState = 'pending' | 'active' | 'retiring' | 'retired';

/** What every record to publish has: the domain's own (SPF, DKIM) and the return path's (MX, SPF). */
export interface PublishedRecord {
  purpose: string;
  type: string;
  name: string;
  /** The label relative to the zone (`@` at the apex); the return path's records have none. */
  host?: string;
  value: string;
  /** TXT only: the value in 255-byte character-strings. */
  strings?: string[];
  /** MX only: the preference and the exchange. */
  priority?: number;
  exchange?: string;
  status: RecordStatus;
  found: string[];
  reason: string | null;
  /** When the record fails and the likely mistake is known: what to fix, with the host label. */
  hint?: string | null;
  nameservers: NameserverVerdict[];
}

export interface DomainRecord extends PublishedRecord {
  purpose: 'spf' | 'dkim';
  host: string;
  strings: string[];
  hint: string | null;
  selector?: string;
  algorithm?: string;
  warnings: string[];
  state?: SelectorState;
  safeToRemove?: boolean;
  retiresAt?: string;
}

export interface VerificationDates {
  startedAt: string;
  deadlineAt: string;
  lastCheckedAt: string | null;
  nextCheckAt: string | null;
  verifiedAt: string | null;
  suspendedAt: string | null;
}

export type DomainStatus = 'pending' | 'verified' | 'failed' | 'suspended';

export interface ReturnPath {
  subdomain: string;
  fallback: 'use_sender' | 'reject';
  status: DomainStatus;
  /** The envelope sender delivery uses now: VERP at the subdomain while verified, else the fallback. */
  applies: 'verp' | 'use_sender' | 'reject';
  records: Array<PublishedRecord & { purpose: 'mx' | 'spf'; type: 'MX' | 'TXT' }>;
  verification: VerificationDates;
}

export interface Domain {
  id: string;
  domain: string;
  status: DomainStatus;
  approval: string;
  sending: { allowed: boolean; reason: string };
  records: DomainRecord[];
  dmarc: { found: string | null; advice: string | null };
  verification: VerificationDates;
  questionnaire?: Record<string, unknown>;
  review?: { reason: string | null; reviewedAt: string; approvedAt: string | null };
  allowedIps: string[];
  returnPath: ReturnPath | null;
  createdAt: string;
}

export interface Page<T> {
  data: T[];
  nextCursor?: string | null;
}

export interface Check {
  id: string;
  trigger: string;
  verdict: string;
  statusBefore: string;
  statusAfter: string;
  durationMs: number;
  createdAt: string;
  records: Array<{ purpose: string; selector: string | null; status: string; reason: string | null }>;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  domainId: string | null;
  status: 'active' | 'disabled';
  disabledReason: string | null;
  consecutiveFailures: number;
  createdAt: string;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  type: string;
  attempt: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  outcome: string;
  createdAt: string;
}

export interface Suppression {
  address: string;
  reason: string;
  reply: { code: number; enhanced: string | null; message: string } | null;
  createdAt: string;
  expiresAt: string | null;
}

export interface Message {
  queueId: string;
  status: string;
  hold: { reason: string; since: string } | null;
  domain: string;
  envelope: { from: string; to: string[] };
  recipients: Array<{
    address: string;
    status: string;
    reply: { code: number; enhanced: string | null; message: string } | null;
    remoteHost: string | null;
    reason?: string | null;
    attempts: number;
    updatedAt: string;
  }>;
  size: number;
  createdAt: string;
  deliveredAt: string | null;
}
