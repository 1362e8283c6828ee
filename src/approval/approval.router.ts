import { z } from 'zod';
import type { ApprovalService } from './approval.service';
import { RouteTable } from '../http/route';
import { domainResourceSchema } from '../domains/domain.resource';
import { domainIdParam } from '../domains/domains.router';

const required = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`),
});

const answer = z
  .string(required('a string'))
  .trim()
  .min(1, 'must not be empty')
  .max(2000, 'must be at most 2000 characters');

const email = z.email(required('an email address'));

/** Keeps the first spelling of each address, comparing case-insensitively. */
function distinctEmails(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = a.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The seed's SMTP questionnaire (PUT /v1/domains/:id/questionnaire). */
export const questionnaireSchema = z.strictObject({
  nature: z.enum(['marketing', 'transactional'], required('marketing or transactional')),
  // A dotted host name: the reviewer visits the site to see what the sender mails about.
  websiteUrl: z
    .url({ protocol: /^https?$/, hostname: z.regexes.domain, ...required('an absolute http(s) URL with a domain name') })
    .max(2000, 'must be at most 2000 characters'),
  subscriberListStrategy: answer,
  bounceHandling: answer,
  unsubscribeMethod: answer,
  sendingRateRationale: answer,
  listHygiene: answer,
  contactEmails: z
    .array(email, required('an array of email addresses'))
    .min(1, 'must list at least one address')
    .meta({ description: 'up to 4 addresses; duplicates (compared case-insensitively) count once' })
    .transform(distinctEmails)
    .pipe(z.array(z.string()).max(4, 'must list at most 4 distinct addresses')),
  replyTo: email,
  consentStatement: z.literal(true, required('true: you send only to recipients who asked for your mail, and handle bounces and complaints')),
  unsubscribeLinkAgreement: z.literal(true, required('true: every message you send carries an unsubscribe link')),
  htmlValidationProcess: answer,
}).meta({ id: 'Questionnaire' });

/** An admin decision's body. */
export const reviewDecisionBody = z.strictObject({
  reason: z.string(required('a string')).trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
}).meta({ id: 'ReviewDecision' });

export function approvalRoutes(approval: ApprovalService): RouteTable {
  return new RouteTable()
    .route({
      method: 'put',
      path: '/v1/domains/:id/questionnaire',
      summary: "Submit the seed's questionnaire; the domain awaits review (approval: pending_review)",
      auth: 'account',
      params: { id: domainIdParam },
      body: questionnaireSchema,
      responses: { 200: { description: 'the domain resource', body: domainResourceSchema } },
      handler: async ({ accountId, params, body }, res) => {
        res.json(await approval.submitQuestionnaire(accountId, params.id, body));
      },
    })
    .route({
      method: 'post',
      path: '/v1/admin/domains/:id/approve',
      summary: "Approve sending for any account's domain (admin key)",
      auth: 'admin',
      params: { id: domainIdParam },
      body: reviewDecisionBody,
      responses: { 200: { description: 'the domain resource', body: domainResourceSchema } },
      handler: async ({ params, body }, res) => {
        res.json(await approval.approve(params.id, body.reason));
      },
    })
    .route({
      method: 'post',
      path: '/v1/admin/domains/:id/reject',
      summary: "Reject sending for any account's domain, or revoke an approval (admin key); 409 before any questionnaire or approval",
      auth: 'admin',
      params: { id: domainIdParam },
      body: reviewDecisionBody,
      responses: { 200: { description: 'the domain resource', body: domainResourceSchema } },
      errors: [409],
      handler: async ({ params, body }, res) => {
        res.json(await approval.reject(params.id, body.reason));
      },
    });
}
