import type { DomainDoc, QuestionnaireDoc, RecordStateDoc } from './domain.model';
import { dkimRecordName, dkimValue, recordHost, spfValue, splitTxt } from '../verification/records';
import { getDomain } from 'tldts';
import { returnPathSchema, toReturnPathResource, type ReturnPathResource } from './return-path.resource';
import { verificationSchema, verificationView, type VerificationView } from './verification-view';
import { z } from 'zod';
import { DKIM_ALGORITHMS } from '../keys/dkim-keys';
import { nameserverVerdictSchema, recordStatusSchema } from '../verification/check.resource';
import { APPROVAL_STATES, DOMAIN_STATUSES, sendingDecision } from './domain-state';
import { DKIM_SELECTOR_STATES, type DkimSelectorState } from './dkim-rotation';

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
    /** `name` relative to the zone, as DNS providers' forms want it (`@` at the apex). */
    host: string;
    selector?: string;
    algorithm?: string;
    value: string;
    strings: string[];
    status: RecordStateDoc['status'];
    found: string[];
    reason: string | null;
    warnings: string[];
    nameservers: RecordStateDoc['nameservers'];
    /** When the record fails: the likely mistake and what to type where; null otherwise. */
    hint: string | null;
    /** DKIM: the selector's place in a key rotation; only the active one signs. */
    state?: DkimSelectorState;
    /** DKIM: true once retired: the record may be removed from DNS. */
    safeToRemove?: boolean;
    /** DKIM, while retiring: when it retires. */
    retiresAt?: string;
  }>;
  dmarc: { found: string | null; advice: string | null };
  verification: VerificationView;
  version: number;
  createdAt: string;
  /** The owner's questionnaire answers, once submitted. */
  questionnaire?: Omit<QuestionnaireDoc, 'submittedAt'> & { submittedAt: string };
  /** The latest admin decision; it stays visible after the owner resubmits. */
  review?: { reason: string | null; reviewedAt: string; approvedAt: string | null };
  /** CIDRs that may connect to the relay for this domain; [] lets nobody in. */
  allowedIps: string[];
  /** The sending limits and today's usage (GET /v1/domains[/:id], POST /v1/domains and the admin limits route). */
  quota?: DomainQuota;
  /** The custom MAIL FROM subdomain, its records and verdicts; null when none is set. */
  returnPath: ReturnPathResource | null;
}

/** A domain's sending limits (counted per recipient) and today's usage. */
export interface DomainQuota {
  rateLimitPerSecond: number;
  dailyQuota: number;
  /** Recipients accepted since 00:00 UTC; null when the counters cannot be read. */
  sentToday: number | null;
  /** When the daily count starts again (the next 00:00 UTC). */
  resetsAt: string;
}

const isoDate = z.iso.datetime();

export const sendingDecisionSchema = z
  .strictObject({ allowed: z.boolean(), reason: z.string() })
  .meta({ id: 'SendingDecision', description: 'may the domain send now, and why' });

export const domainQuotaSchema = z
  .strictObject({
    rateLimitPerSecond: z.number().int().meta({ description: 'recipients per second the relay accepts; beyond: 451 4.7.1' }),
    dailyQuota: z.number().int().meta({ description: 'recipients per UTC day the relay accepts; beyond: 452 4.5.3' }),
    sentToday: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'recipients accepted since 00:00 UTC; null when the counters (Redis) cannot be read' }),
    resetsAt: isoDate.meta({ description: 'when the daily count starts again (the next 00:00 UTC)' }),
  })
  .meta({ id: 'DomainQuota', description: 'sending limits, counted per recipient at RCPT TO, and today\'s usage' });

const domainRecordSchema = z.strictObject({
  purpose: z.enum(['spf', 'dkim']),
  type: z.literal('TXT'),
  name: z.string(),
  host: z.string().meta({
    description: 'the name relative to its zone, as DNS providers\' forms want it: `@` at the zone apex, `<selector>._domainkey` or `<selector>._domainkey.mail` below it',
  }),
  selector: z.string().optional(),
  algorithm: z.enum(DKIM_ALGORITHMS).optional(),
  value: z.string(),
  strings: z.array(z.string().max(255)).meta({ description: 'the value split into TXT character-strings of at most 255 bytes' }),
  status: recordStatusSchema,
  found: z.array(z.string()),
  reason: z.string().nullable(),
  warnings: z.array(z.string()),
  nameservers: z.array(nameserverVerdictSchema),
  hint: z
    .string()
    .nullable()
    .meta({ description: 'when the record fails and the likely mistake is known (zone doubled, CNAME instead of TXT, quoted or split wrongly, over the SPF lookup limit, …): what to fix, with the host label to type' }),
  state: z
    .enum(DKIM_SELECTOR_STATES)
    .optional()
    .meta({ description: 'DKIM: pending (rotation started), active (signs), retiring (still published for mail in flight), retired' }),
  safeToRemove: z.boolean().optional().meta({ description: 'DKIM: true once retired: the record may be removed from DNS' }),
  retiresAt: isoDate.optional().meta({ description: 'DKIM, while retiring: when it retires' }),
});

/** The JSON schema of DomainResource, for /openapi.json. */
export const domainResourceSchema = z
  .strictObject({
    id: z.string(),
    domain: z.string(),
    status: z.enum(DOMAIN_STATUSES),
    approval: z.enum(APPROVAL_STATES),
    sending: sendingDecisionSchema,
    records: z.array(domainRecordSchema),
    dmarc: z.strictObject({ found: z.string().nullable(), advice: z.string().nullable() }),
    verification: verificationSchema,
    version: z.number().int(),
    createdAt: isoDate,
    questionnaire: z
      .strictObject({
        nature: z.enum(['marketing', 'transactional']),
        websiteUrl: z.string(),
        subscriberListStrategy: z.string(),
        bounceHandling: z.string(),
        unsubscribeMethod: z.string(),
        sendingRateRationale: z.string(),
        listHygiene: z.string(),
        contactEmails: z.array(z.string()),
        replyTo: z.string(),
        consentStatement: z.literal(true),
        unsubscribeLinkAgreement: z.literal(true),
        htmlValidationProcess: z.string(),
        submittedAt: isoDate,
      })
      .optional()
      .meta({ description: "the owner's answers, once submitted" }),
    review: z
      .strictObject({ reason: z.string().nullable(), reviewedAt: isoDate, approvedAt: isoDate.nullable() })
      .optional()
      .meta({ description: 'the latest admin decision; it stays visible after the owner resubmits' }),
    allowedIps: z.array(z.string()).meta({ description: 'CIDRs that may connect to the relay; [] lets nobody in' }),
    quota: domainQuotaSchema
      .optional()
      .meta({ description: 'shown by GET /v1/domains, GET /v1/domains/{id}, POST /v1/domains and PUT /v1/admin/domains/{id}/limits' }),
    returnPath: returnPathSchema.nullable(),
  })
  .meta({ id: 'Domain', description: 'The domain resource' });

export const domainPageSchema = z
  .strictObject({ data: z.array(domainResourceSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'DomainPage', description: 'nextCursor is the `after` of the next page' });

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
    hint: r?.hint ?? null,
  };
}

/**
 * The zone that holds the domain: the one the latest check found, or before any check the
 * registrable domain (public suffix list), which is the zone in the common case.
 */
export function zoneOf(doc: Pick<DomainDoc, 'domain' | 'zone'>): string {
  return doc.zone ?? getDomain(doc.domain, { allowPrivateDomains: false }) ?? doc.domain;
}

/** The domain resource; `quota` only where the caller read the usage. */
export function toDomainResource(doc: DomainDoc, quota?: DomainQuota): DomainResource {
  const spf = latest(doc, 'spf', null);
  const spfRecordValue = spf?.suggested ?? spfValue(doc.spfInclude);
  const zone = zoneOf(doc);
  const records: DomainResource['records'] = [
    { purpose: 'spf', type: 'TXT', name: doc.domain, host: recordHost(doc.domain, zone), value: spfRecordValue, strings: splitTxt(spfRecordValue), ...state(spf) },
  ];
  for (const sel of doc.dkim) {
    const value = dkimValue(sel.keyType, sel.publicKey);
    const name = dkimRecordName(sel.selector, doc.domain);
    records.push({
      purpose: 'dkim',
      type: 'TXT',
      name,
      host: recordHost(name, zone),
      selector: sel.selector,
      algorithm: sel.algorithm,
      value,
      strings: splitTxt(value),
      ...state(latest(doc, 'dkim', sel.selector)),
      state: sel.status,
      safeToRemove: sel.status === 'retired',
      ...(sel.status === 'retiring' && sel.retiresAt ? { retiresAt: iso(sel.retiresAt)! } : {}),
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
    verification: verificationView(doc),
    version: doc.version,
    createdAt: iso(doc.createdAt)!,
    allowedIps: doc.allowedIps ?? [],
    ...(doc.questionnaire ? { questionnaire: { ...doc.questionnaire, submittedAt: iso(doc.questionnaire.submittedAt)! } } : {}),
    ...(doc.reviewedAt
      ? { review: { reason: doc.approvalReason ?? null, reviewedAt: iso(doc.reviewedAt)!, approvedAt: iso(doc.approvedAt ?? null) } }
      : {}),
    ...(quota ? { quota } : {}),
    returnPath: doc.returnPath ? toReturnPathResource(doc.returnPath, doc.spfInclude, zone) : null,
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
