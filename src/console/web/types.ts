// The API's resources as the console reads them (DESIGN §6). Fields other engineers add
// (host, hint, state, safeToRemove, returnPath) are optional: shown when the API sends them.

export type RecordStatus = 'pass' | 'fail' | 'temperror' | 'pending';

export interface NameserverVerdict {
  host: string;
  ip: string;
  status: RecordStatus;
  found: string[];
  reason: string | null;
}

export interface DomainRecord {
  purpose: string;
  type: string;
  name: string;
  host?: string;
  selector?: string;
  algorithm?: string;
  value: string;
  strings: string[];
  status: RecordStatus;
  found: string[];
  reason: string | null;
  hint?: string | null;
  warnings?: string[];
  state?: 'pending' | 'active' | 'retiring' | 'retired';
  safeToRemove?: boolean;
  nameservers: NameserverVerdict[];
}

export interface ReturnPath {
  subdomain?: string;
  name?: string;
  fallback?: string;
  status?: string;
  records?: DomainRecord[];
  [more: string]: unknown;
}

export interface Domain {
  id: string;
  domain: string;
  status: 'pending' | 'verified' | 'failed' | 'suspended';
  approval: string;
  sending: { allowed: boolean; reason: string };
  records: DomainRecord[];
  dmarc: { found: string | null; advice: string | null };
  verification: {
    startedAt: string;
    deadlineAt: string;
    lastCheckedAt: string | null;
    nextCheckAt: string | null;
    verifiedAt: string | null;
    suspendedAt: string | null;
  };
  questionnaire?: Record<string, unknown>;
  review?: { reason: string | null; reviewedAt: string; approvedAt: string | null };
  allowedIps: string[];
  returnPath?: ReturnPath | null;
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
