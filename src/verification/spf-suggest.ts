/**
 * The SPF record to ask the owner to publish. When the domain already has SPF
 * the suggestion merges our include into it, because a second record would
 * make every receiver return permerror (RFC 7208 §4.5).
 */
import type { CheckResolver } from '../dns/resolver';
import { parseSpfRecord, isSpfRecord, DNS_QUERYING_TERMS } from './spf-record';
import { domainKey, walkRecord, type WalkState } from './spf-walk';

export interface SpfSuggestion {
  /** The complete TXT value to publish, replacing the existing SPF record if any. */
  value: string;
  /** Problems the owner should know about, in words. */
  warnings: string[];
}

export interface SpfLookupCount {
  /** DNS-querying terms a receiver spends in the worst case (stopping once over the limit). */
  count: number;
  /** False when part of the tree could not be followed; `problems` says why. */
  complete: boolean;
  problems: string[];
}

const ALL_TERM = /^[+\-~?]?all$/i;
const REDIRECT_TERM = /^redirect=/i;
const INCLUDE_TERM = /^([+\-~?]?)include:(.+)$/i;

/**
 * Merges include:{includeDomain} into the existing SPF record, before the first
 * "all" (any qualifier) or else before "redirect=", or else at the end. An
 * existing include of ours is kept (or moved in front of "all" when it sits
 * after it). Without an existing record: `v=spf1 include:{includeDomain} ~all`.
 */
export function suggestSpfRecord(existing: string | null, includeDomain: string): SpfSuggestion {
  return suggest(existing, includeDomain, true);
}

function suggest(existing: string | null, includeDomain: string, estimateLookups: boolean): SpfSuggestion {
  const fresh = `v=spf1 include:${includeDomain} ~all`;
  if (existing === null) return { value: fresh, warnings: [] };
  if (!isSpfRecord(existing)) {
    return { value: fresh, warnings: [`the existing value "${existing}" is not an SPF record; it was not merged`] };
  }
  const warnings: string[] = [];
  let terms = existing.trim().split(/ +/);
  const allIndex = terms.findIndex((t) => ALL_TERM.test(t));
  const oursIndex = terms.findIndex((t) => isOurInclude(t, includeDomain));
  let value = existing;
  if (oursIndex >= 0 && (allIndex < 0 || oursIndex < allIndex)) {
    const qualifier = INCLUDE_TERM.exec(terms[oursIndex])?.[1] ?? '';
    if (qualifier !== '' && qualifier !== '+') {
      warnings.push(`"${terms[oursIndex]}" has qualifier "${qualifier}", so our hosts do not get "pass"; write it as "include:${includeDomain}"`);
    }
  } else {
    if (oursIndex >= 0) {
      warnings.push(`"${terms[oursIndex]}" came after "${terms[allIndex]}", where receivers never evaluate it; it was moved in front`);
      terms = terms.filter((_, i) => i !== oursIndex);
    }
    value = insertInclude(terms, includeDomain);
  }
  warnings.push(...recordWarnings(value, estimateLookups));
  return { value, warnings };
}

/**
 * suggestSpfRecord, with the lookup count checked through the resolver:
 * nested includes (ours among them) are followed, so the warning about the
 * 10-term limit is exact instead of a top-level estimate.
 */
export async function suggestSpfRecordChecked(
  resolver: CheckResolver,
  existing: string | null,
  includeDomain: string,
  domain: string,
): Promise<SpfSuggestion & { lookups: SpfLookupCount }> {
  // The resolver gives the exact count, so the textual estimate is left out.
  const suggestion = suggest(existing, includeDomain, false);
  const lookups = await countSpfLookups(resolver, suggestion.value, domain);
  const warnings = [...suggestion.warnings];
  if (lookups.count > 10) {
    warnings.push('the record needs more than 10 DNS-querying terms once its includes are followed; receivers will return permerror');
  }
  if (!lookups.complete) warnings.push(`the lookup count is incomplete: ${lookups.problems.join('; ')}`);
  return { ...suggestion, warnings, lookups };
}

/** DNS-querying terms at the top level of a record, counted from its text alone. */
export function countTopLevelLookups(value: string): number {
  return value
    .split(/ +/)
    .slice(1)
    .filter((t) => {
      const name = /^[+\-~?]?([a-z0-9]+)/i.exec(t)?.[1]?.toLowerCase() ?? '';
      return REDIRECT_TERM.test(t) || (DNS_QUERYING_TERMS.has(name) && !/^[+\-~?]?[a-z0-9]+=/i.test(t));
    }).length;
}

/**
 * Counts the DNS-querying terms a receiver spends evaluating `value` (published
 * at `domain`), following literal includes and redirect through the resolver.
 */
export async function countSpfLookups(resolver: CheckResolver, value: string, domain: string): Promise<SpfLookupCount> {
  const parsed = parseSpfRecord(value);
  if (!parsed.ok) return { count: countTopLevelLookups(value), complete: false, problems: [parsed.reason] };
  const state: WalkState = { resolver, lookups: 0, maxLookups: 10, chain: [], target: null, skipped: [] };
  const outcome = await walkRecord(state, parsed.record, domainKey(domain));
  const problems = state.skipped.map((s) => `${s} uses a macro and cannot be followed`);
  // Passing the limit is a finding, not a gap in the count.
  if (typeof outcome !== 'string' && !outcome.reason.startsWith('more than')) problems.push(outcome.reason);
  return { count: state.lookups, complete: problems.length === 0, problems };
}

function isOurInclude(term: string, includeDomain: string): boolean {
  const match = INCLUDE_TERM.exec(term);
  return match !== null && domainKey(match[2]) === domainKey(includeDomain);
}

function insertInclude(terms: string[], includeDomain: string): string {
  const at = terms.findIndex((t) => ALL_TERM.test(t));
  const redirect = terms.findIndex((t) => REDIRECT_TERM.test(t));
  const index = at >= 0 ? at : redirect >= 0 ? redirect : terms.length;
  return [...terms.slice(0, index), `include:${includeDomain}`, ...terms.slice(index)].join(' ');
}

function recordWarnings(value: string, estimateLookups: boolean): string[] {
  const warnings: string[] = [];
  const terms = value.split(/ +/);
  const all = terms.find((t) => ALL_TERM.test(t));
  if (all !== undefined && (all.startsWith('+') || all.toLowerCase() === 'all')) {
    warnings.push(`"${all}" authorises every host on the internet to send as this domain; use "~all" or "-all"`);
  }
  const parsed = parseSpfRecord(value);
  if (!parsed.ok) warnings.push(`the existing record has a syntax error, so receivers return permerror until it is fixed: ${parsed.reason}`);
  const count = countTopLevelLookups(value);
  if (estimateLookups && count > 10) {
    warnings.push(`the record has ${count} DNS-querying terms at the top level; SPF allows 10 in total and each include adds its own`);
  }
  return warnings;
}
