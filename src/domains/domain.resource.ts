import type { DomainDoc, QuestionnaireDoc, RecordStateDoc } from './domain.model';
import { dkimRecordName, dkimValue, spfValue, splitTxt } from '../verification/records';
import { sendingDecision } from './domain-state';

/** The domain resource of DESIGN §6, as every route and webhook shows it. */
export interface DomainResource {
  id: string;
  domain: string;
  status: DomainDoc['status'];
  approval: DomainDoc['approval'];
  sending: { allowed: boolean; reason: string };
  records: Array<{
    purpose: 'spf' | 'dkim';
    type: 'TXT';
    name: string;
    selector?: string;
    algorithm?: string;
    value: string;
    strings: string[];
    status: RecordStateDoc['status'];
    found: string[];
    reason: string | null;
    warnings: string[];
    nameservers: RecordStateDoc['nameservers'];
  }>;
  dmarc: { found: string | null; advice: string | null };
  verification: {
    startedAt: string;
    deadlineAt: string;
    lastCheckedAt: string | null;
    nextCheckAt: string | null;
    verifiedAt: string | null;
    suspendedAt: string | null;
  };
  version: number;
  createdAt: string;
  /** The owner's questionnaire answers, once submitted. */
  questionnaire?: Omit<QuestionnaireDoc, 'submittedAt'> & { submittedAt: string };
  /** The latest admin decision; it stays visible after the owner resubmits. */
  review?: { reason: string | null; reviewedAt: string; approvedAt: string | null };
  /** CIDRs that may connect to the relay for this domain; [] lets nobody in. */
  allowedIps: string[];
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function latest(doc: DomainDoc, purpose: 'spf' | 'dkim', selector: string | null): RecordStateDoc | undefined {
  return doc.records.find((r) => r.purpose === purpose && (purpose === 'spf' || r.selector === selector));
}

function state(r: RecordStateDoc | undefined) {
  return {
    status: r?.status ?? ('pending' as const),
    found: r?.found ?? [],
    reason: r?.reason ?? null,
    warnings: r?.warnings ?? [],
    nameservers: r?.nameservers ?? [],
  };
}

export function toDomainResource(doc: DomainDoc): DomainResource {
  const spf = latest(doc, 'spf', null);
  const spfRecordValue = spf?.suggested ?? spfValue(doc.spfInclude);
  const records: DomainResource['records'] = [
    { purpose: 'spf', type: 'TXT', name: doc.domain, value: spfRecordValue, strings: splitTxt(spfRecordValue), ...state(spf) },
  ];
  for (const sel of doc.dkim.filter((s) => s.status !== 'retired')) {
    const value = dkimValue(sel.keyType, sel.publicKey);
    records.push({
      purpose: 'dkim',
      type: 'TXT',
      name: dkimRecordName(sel.selector, doc.domain),
      selector: sel.selector,
      algorithm: sel.algorithm,
      value,
      strings: splitTxt(value),
      ...state(latest(doc, 'dkim', sel.selector)),
    });
  }
  return {
    id: doc._id,
    domain: doc.domain,
    status: doc.status,
    approval: doc.approval,
    sending: sendingDecision(doc),
    records,
    dmarc: { found: doc.dmarc?.found ?? null, advice: doc.dmarc?.advice ?? null },
    verification: {
      startedAt: iso(doc.startedAt)!,
      deadlineAt: iso(doc.deadlineAt)!,
      lastCheckedAt: iso(doc.lastCheckedAt),
      nextCheckAt: iso(doc.nextCheckAt),
      verifiedAt: iso(doc.verifiedAt),
      suspendedAt: iso(doc.suspendedAt),
    },
    version: doc.version,
    createdAt: iso(doc.createdAt)!,
    allowedIps: doc.allowedIps ?? [],
    ...(doc.questionnaire ? { questionnaire: { ...doc.questionnaire, submittedAt: iso(doc.questionnaire.submittedAt)! } } : {}),
    ...(doc.reviewedAt
      ? { review: { reason: doc.approvalReason ?? null, reviewedAt: iso(doc.reviewedAt)!, approvedAt: iso(doc.approvedAt ?? null) } }
      : {}),
  };
}

/**
 * The slim domain view that events and webhook payloads carry (DESIGN §6): state only.
 * Never the questionnaire answers, contact e-mails, allowed IPs or records; a subscriber's
 * endpoint is a third party, and these stay behind the authenticated API.
 */
export type DomainEventView = Pick<DomainResource, 'id' | 'domain' | 'status' | 'approval' | 'sending' | 'verification'>;

export function toDomainEventView(doc: DomainDoc): DomainEventView {
  const { id, domain, status, approval, sending, verification } = toDomainResource(doc);
  return { id, domain, status, approval, sending, verification };
}
