/** DMARC record parsing (RFC 7489 §6.3, §6.6.3) and advice. DMARC never affects a verdict (DESIGN §4). */
import type { LookupResult } from '../dns/resolver';
import { assembleTxt } from './txt';

export type DmarcDisposition = 'none' | 'quarantine' | 'reject';

export interface DmarcPolicy {
  p: DmarcDisposition;
  /** Subdomain policy; defaults to p. */
  sp: DmarcDisposition;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  /** Aggregate report URIs, without any "!size" suffix. */
  rua: string[];
  pct: number;
}

export interface DmarcResult {
  /** The DMARC record found (the first, when several are published). */
  found: string | null;
  /** The policy receivers apply; null when there is none or it is invalid. */
  policy: DmarcPolicy | null;
  /** What the owner could do next, in words. */
  advice: string;
}

const DISPOSITIONS: readonly string[] = ['none', 'quarantine', 'reject'];
const VERSION = /^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)/;

/**
 * Reads the TXT answer at `_dmarc.{domain}` and explains it. `domain` only
 * makes the suggested record concrete.
 */
export function evaluateDmarc(answer: LookupResult<string[]>, domain?: string): DmarcResult {
  const name = domain ? `_dmarc.${domain}` : 'the _dmarc name';
  const example = `"v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain ?? 'your-domain'}"`;
  if (answer.kind === 'error') {
    return { found: null, policy: null, advice: `Could not look up ${name} (${answer.failure}); DMARC is advisory and will be checked again.` };
  }
  const records = answer.kind === 'answer' ? answer.records.map(assembleTxt).filter((r) => VERSION.test(r)) : [];
  if (records.length === 0) {
    return { found: null, policy: null, advice: `No DMARC record. Publish one at ${name}, for example ${example}, to receive aggregate reports.` };
  }
  if (records.length > 1) {
    return {
      found: records[0],
      policy: null,
      advice: `${records.length} DMARC records are published at ${name}; receivers ignore them all. Publish exactly one.`,
    };
  }
  const parsed = parseDmarcRecord(records[0]);
  if ('reason' in parsed) {
    return { found: records[0], policy: null, advice: `The DMARC record is invalid (${parsed.reason}), so receivers ignore it. Publish, for example, ${example}.` };
  }
  return { found: records[0], policy: parsed.policy, advice: adviseOn(parsed.policy, parsed.notes, domain) };
}

/**
 * Parses a DMARC record's tag list. Unknown tags are ignored; a bad p= is
 * replaced by p=none when rua= is present (§6.6.3), otherwise the record is invalid.
 */
export function parseDmarcRecord(value: string): { policy: DmarcPolicy; notes: string[] } | { reason: string } {
  const tags = new Map<string, string>();
  const specs = value.split(';').map((s) => s.trim());
  if (specs[specs.length - 1] === '') specs.pop();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq < 0) return { reason: `"${spec}" is not a tag=value pair` };
    const tag = spec.slice(0, eq).trim().toLowerCase();
    if (tags.has(tag)) return { reason: `tag "${tag}" appears more than once` };
    tags.set(tag, spec.slice(eq + 1).trim());
  }
  const notes: string[] = [];
  const rua = (tags.get('rua') ?? '').split(',').map((u) => u.trim().replace(/!\d+[kmgt]?$/i, '')).filter((u) => u !== '');
  let p = tags.get('p')?.toLowerCase();
  if (p === undefined || !DISPOSITIONS.includes(p)) {
    const problem = p === undefined ? 'p= is missing' : `p=${tags.get('p')} is not none, quarantine or reject`;
    if (rua.length === 0) return { reason: problem };
    notes.push(`${problem}; receivers treat the record as p=none.`);
    p = 'none';
  }
  const sp = tags.get('sp')?.toLowerCase();
  if (sp !== undefined && !DISPOSITIONS.includes(sp)) notes.push(`sp=${tags.get('sp')} is invalid and is ignored.`);
  const alignment = (tag: 'adkim' | 'aspf'): 'r' | 's' => {
    const v = tags.get(tag)?.toLowerCase();
    if (v === undefined) return 'r';
    if (v === 'r' || v === 's') return v;
    notes.push(`${tag}=${tags.get(tag)} is invalid; relaxed alignment applies.`);
    return 'r';
  };
  const adkim = alignment('adkim');
  const aspf = alignment('aspf');
  let pct = 100;
  const pctText = tags.get('pct');
  if (pctText !== undefined) {
    if (/^\d{1,3}$/.test(pctText) && Number(pctText) <= 100) pct = Number(pctText);
    else notes.push(`pct=${pctText} is not a number from 0 to 100; 100 applies.`);
  }
  const policy: DmarcPolicy = {
    p: p as DmarcDisposition,
    sp: (sp !== undefined && DISPOSITIONS.includes(sp) ? sp : p) as DmarcDisposition,
    adkim,
    aspf,
    rua,
    pct,
  };
  return { policy, notes };
}

function adviseOn(policy: DmarcPolicy, notes: string[], domain: string | undefined): string {
  const advice = [...notes];
  if (policy.p === 'none') {
    advice.push('The policy is p=none (monitoring only). Once the aggregate reports show your legitimate mail passing, move to p=quarantine, then p=reject.');
  } else if (policy.p === 'quarantine') {
    advice.push('The policy is p=quarantine. Once the reports stay clean, consider p=reject.');
  } else {
    advice.push('The policy is p=reject, the strongest setting.');
  }
  if (policy.pct < 100) advice.push(`pct=${policy.pct} applies the policy to only ${policy.pct}% of failing mail; raise it to 100 when confident.`);
  if (policy.rua.length === 0) {
    advice.push(`There is no rua= address, so no aggregate reports arrive; add one such as rua=mailto:dmarc-reports@${domain ?? 'your-domain'}.`);
  }
  return advice.join(' ');
}
