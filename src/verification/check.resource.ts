import { z } from 'zod';

const verdict = z.enum(['pass', 'fail', 'temperror']);
/** A record's status in the domain resource: a verdict, or `pending` before its first check. */
export const recordStatusSchema = z.enum(['pass', 'fail', 'temperror', 'pending']);

/** One record's verdict on one authoritative nameserver address. */
export const nameserverVerdictSchema = z
  .strictObject({
    host: z.string(),
    ip: z.string(),
    status: recordStatusSchema,
    found: z.array(z.string()),
    reason: z.string().nullable(),
  })
  .meta({ id: 'NameserverVerdict' });

const recordCheck = z.strictObject({
  purpose: z.enum(['spf', 'dkim']),
  selector: z.string().nullable(),
  name: z.string(),
  expected: z.string().meta({ description: 'the value the owner was asked to publish' }),
  status: verdict,
  found: z.array(z.string()),
  reason: z.string().nullable(),
  suggested: z.string().nullable().meta({ description: 'for SPF: the record to publish given what is there now' }),
  warnings: z.array(z.string()),
  nameservers: z.array(nameserverVerdictSchema),
  hint: z.string().nullable().optional().meta({ description: 'when the record fails: the likely mistake and the host label to type' }),
});

/** One check of one domain, as GET /v1/domains/:id/checks lists it. */
export const checkResourceSchema = z
  .strictObject({
    id: z.string(),
    domainId: z.string(),
    trigger: z.enum(['scheduled', 'verify']),
    verdict,
    zone: z.string().nullable(),
    records: z.array(recordCheck),
    dmarc: z.strictObject({ found: z.string().nullable(), advice: z.string().nullable() }),
    statusBefore: z.string().meta({ description: "the domain's status before this check" }),
    statusAfter: z.string().meta({ description: "the domain's status after this check" }),
    durationMs: z.number().int(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Check' });

export const checkPageSchema = z
  .strictObject({ data: z.array(checkResourceSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'CheckPage', description: 'newest first; nextCursor is the `before` of the next page' });
