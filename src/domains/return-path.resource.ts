import { z } from 'zod';
import { nameserverVerdictSchema, recordStatusSchema } from '../verification/check.resource';
import { RETURN_PATH_MX_PREFERENCE, returnPathMxValue, spfValue, splitTxt } from '../verification/records';
import { DOMAIN_STATUSES } from './domain-state';
import type { RecordStateDoc } from './domain.model';
import { RETURN_PATH_FALLBACKS, returnPathMode, type ReturnPathDoc, type ReturnPathMode } from './return-path';
import { verificationSchema, verificationView, type VerificationView } from './verification-view';

/** A domain's return path as the resource shows it (DESIGN §6). */
export interface ReturnPathResource {
  subdomain: string;
  fallback: ReturnPathDoc['fallback'];
  status: ReturnPathDoc['status'];
  /** The envelope sender delivery uses now: `verp` while verified, else the fallback. */
  applies: ReturnPathMode;
  records: Array<{
    purpose: 'mx' | 'spf';
    type: 'MX' | 'TXT';
    name: string;
    value: string;
    /** MX only: the preference and the exchange, for forms that take them apart. */
    priority?: number;
    exchange?: string;
    strings?: string[];
    status: RecordStateDoc['status'];
    found: string[];
    reason: string | null;
    nameservers: RecordStateDoc['nameservers'];
  }>;
  verification: VerificationView;
}

/** The JSON schema of ReturnPathResource, for /openapi.json. */
export const returnPathSchema = z
  .strictObject({
    subdomain: z.string(),
    fallback: z.enum(RETURN_PATH_FALLBACKS),
    status: z.enum(DOMAIN_STATUSES).meta({ description: "the return path's own verification status; it never changes the domain's" }),
    applies: z.enum(['verp', ...RETURN_PATH_FALLBACKS]).meta({ description: 'the envelope sender now: verp (b-<token>@subdomain) while verified, else the fallback' }),
    records: z.array(
      z.strictObject({
        purpose: z.enum(['mx', 'spf']),
        type: z.enum(['MX', 'TXT']),
        name: z.string(),
        value: z.string(),
        priority: z.number().int().optional(),
        exchange: z.string().optional(),
        strings: z.array(z.string().max(255)).optional(),
        status: recordStatusSchema,
        found: z.array(z.string()),
        reason: z.string().nullable(),
        nameservers: z.array(nameserverVerdictSchema),
      }),
    ),
    verification: verificationSchema,
  })
  .meta({ id: 'ReturnPath', description: 'the custom MAIL FROM subdomain (PUT /v1/domains/{id}/return-path)' });

/** The return path of the domain resource. */
export function toReturnPathResource(rp: ReturnPathDoc, spfInclude: string): ReturnPathResource {
  const verdict = (purpose: 'mx' | 'spf') => {
    const r = rp.records?.find((x) => x.purpose === purpose);
    return { status: r?.status ?? ('pending' as const), found: r?.found ?? [], reason: r?.reason ?? null, nameservers: r?.nameservers ?? [] };
  };
  const spf = spfValue(spfInclude);
  return {
    subdomain: rp.subdomain,
    fallback: rp.fallback,
    status: rp.status,
    applies: returnPathMode(rp),
    records: [
      { purpose: 'mx', type: 'MX', name: rp.subdomain, value: returnPathMxValue(rp.mxHost), priority: RETURN_PATH_MX_PREFERENCE, exchange: rp.mxHost, ...verdict('mx') },
      { purpose: 'spf', type: 'TXT', name: rp.subdomain, value: spf, strings: splitTxt(spf), ...verdict('spf') },
    ],
    verification: verificationView(rp),
  };
}
