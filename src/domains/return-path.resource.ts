import { z } from 'zod';
import { nameserverVerdictSchema, recordStatusSchema } from '../verification/check.resource';
import { recordHost, RETURN_PATH_MX_PREFERENCE, returnPathMxValue, spfValue, splitTxt } from '../verification/records';
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
    /** `name` relative to its zone, as DNS providers' forms want it (`bounce` for bounce.example.com in zone example.com). */
    host: string;
    value: string;
    /** MX only: the preference and the exchange, for forms that take them apart. */
    priority?: number;
    exchange?: string;
    strings?: string[];
    status: RecordStateDoc['status'];
    found: string[];
    reason: string | null;
    nameservers: RecordStateDoc['nameservers'];
    /** When the record fails: the likely mistake and what to type where; null otherwise. */
    hint: string | null;
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
        host: z.string().meta({ description: 'the name relative to its zone, as DNS providers\' forms want it: `bounce` for bounce.example.com in zone example.com' }),
        value: z.string(),
        priority: z.number().int().optional(),
        exchange: z.string().optional(),
        strings: z.array(z.string().max(255)).optional(),
        status: recordStatusSchema,
        found: z.array(z.string()),
        reason: z.string().nullable(),
        nameservers: z.array(nameserverVerdictSchema),
        hint: z
          .string()
          .nullable()
          .meta({ description: 'when the record fails and the likely mistake is known (zone doubled, subdomain left out, a CNAME where the MX and TXT belong): what to fix, with the host label to type' }),
      }),
    ),
    verification: verificationSchema,
  })
  .meta({ id: 'ReturnPath', description: 'the custom MAIL FROM subdomain (PUT /v1/domains/{id}/return-path)' });

/**
 * The return path of the domain resource. `domainZone` is the zone of the domain: the host
 * labels are relative to it until a check has found the zone that holds the subdomain.
 */
export function toReturnPathResource(rp: ReturnPathDoc, spfInclude: string, domainZone: string): ReturnPathResource {
  const verdict = (purpose: 'mx' | 'spf') => {
    const r = rp.records?.find((x) => x.purpose === purpose);
    return { status: r?.status ?? ('pending' as const), found: r?.found ?? [], reason: r?.reason ?? null, nameservers: r?.nameservers ?? [], hint: r?.hint ?? null };
  };
  const spf = spfValue(spfInclude);
  const host = recordHost(rp.subdomain, rp.zone ?? domainZone);
  return {
    subdomain: rp.subdomain,
    fallback: rp.fallback,
    status: rp.status,
    applies: returnPathMode(rp),
    records: [
      { purpose: 'mx', type: 'MX', name: rp.subdomain, host, value: returnPathMxValue(rp.mxHost), priority: RETURN_PATH_MX_PREFERENCE, exchange: rp.mxHost, ...verdict('mx') },
      { purpose: 'spf', type: 'TXT', name: rp.subdomain, host, value: spf, strings: splitTxt(spf), ...verdict('spf') },
    ],
    verification: verificationView(rp),
  };
}
