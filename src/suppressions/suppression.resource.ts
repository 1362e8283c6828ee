import { z } from 'zod';
import { SUPPRESSION_REASONS, type SuppressionDoc } from './suppression.model';

/** An entry of the suppression list, as GET/PUT /v1/suppressions show it. */
export interface SuppressionResource {
  address: string;
  reason: SuppressionDoc['reason'];
  reply: SuppressionDoc['reply'];
  createdAt: string;
  expiresAt: string | null;
}

export const smtpReplySchema = z
  .strictObject({
    code: z.number().int(),
    enhanced: z.string().nullable().meta({ description: 'the enhanced status code (RFC 3463), when the reply had one' }),
    message: z.string(),
  })
  .meta({ id: 'SmtpReply', description: 'an SMTP reply' });

export const suppressionSchema = z
  .strictObject({
    address: z.string().meta({ description: 'normalised: the local part as given, the domain as its lowercase A-label' }),
    reason: z.enum(SUPPRESSION_REASONS),
    reply: smtpReplySchema.nullable().meta({ description: 'the SMTP reply that caused the entry; null for one added by hand' }),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().nullable().meta({ description: 'from then on the address is no longer suppressed; null: never' }),
  })
  .meta({ id: 'Suppression', description: 'An address on the account suppression list: RCPT TO it answers 550 5.1.1' });

export const suppressionPageSchema = z
  .strictObject({ data: z.array(suppressionSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'SuppressionPage', description: 'entries in force, in address order; nextCursor is the `after` of the next page' });

const iso = (d: Date) => new Date(d).toISOString();

export function toSuppressionResource(doc: SuppressionDoc): SuppressionResource {
  return {
    address: doc.address,
    reason: doc.reason,
    reply: doc.reply ? { code: doc.reply.code, enhanced: doc.reply.enhanced ?? null, message: doc.reply.message } : null,
    createdAt: iso(doc.createdAt),
    expiresAt: doc.expiresAt ? iso(doc.expiresAt) : null,
  };
}
