/**
 * Static walks over a domain's include/redirect tree, without a client ip:
 * counting DNS-querying terms the way a receiver would spend them, and finding
 * where a given include is reached. Used where no outbound ip is known.
 */
import type { CheckResolver } from '../dns/resolver';
import { invalidDomainReason, lookupFailure, stripDot } from './spf-lookup';
import { parseSpfRecord, selectSpfRecords, DNS_QUERYING_TERMS, type SpfRecord } from './spf-record';

export interface WalkState {
  resolver: CheckResolver;
  /** DNS-querying terms spent so far. */
  lookups: number;
  maxLookups: number;
  /** Domains being walked, first to current, for loop detection. */
  chain: string[];
  /** The include target being looked for, lowercase without a trailing dot; null to just count. */
  target: string | null;
  /** Includes and redirects whose target is a macro, which no static walk can follow. */
  skipped: string[];
}

/** How a walk ended: the target was reached, the tree was exhausted, or a receiver would stop with an error. */
export type WalkOutcome = 'found' | 'done' | { stop: 'permerror' | 'temperror'; reason: string };

/** The one SPF record at `domain`, or why a receiver would find none or a broken one. */
export type FetchedRecord =
  | { kind: 'record'; value: string; record: SpfRecord; all: string[] }
  | { kind: 'none'; reason: string; all: string[] }
  | { kind: 'stop'; stop: 'permerror' | 'temperror'; reason: string; all: string[] };

/** Normalises a domain for comparison: lowercase, no trailing dot. */
export function domainKey(name: string): string {
  return stripDot(name).toLowerCase();
}

/** Fetches and parses the SPF record at `domain` (§4.4, §4.5). */
export async function fetchSpfRecord(resolver: CheckResolver, domain: string): Promise<FetchedRecord> {
  const invalid = invalidDomainReason(domain);
  if (invalid) return { kind: 'none', reason: invalid, all: [] };
  const answer = await resolver.txt(domain);
  if (answer.kind === 'error') return { kind: 'stop', stop: 'temperror', reason: lookupFailure('TXT', domain, answer), all: [] };
  if (answer.kind !== 'answer') return { kind: 'none', reason: `no SPF record at ${domain}`, all: [] };
  const all = selectSpfRecords(answer.records);
  if (all.length === 0) return { kind: 'none', reason: `no SPF record at ${domain}`, all };
  if (all.length > 1) {
    return { kind: 'stop', stop: 'permerror', reason: `${domain} publishes ${all.length} SPF records; publish exactly one`, all };
  }
  const parsed = parseSpfRecord(all[0]);
  if (!parsed.ok) return { kind: 'stop', stop: 'permerror', reason: `syntax error in the SPF record of ${domain}: ${parsed.reason}`, all };
  return { kind: 'record', value: all[0], record: parsed.record, all };
}

/**
 * Walks one record's terms in evaluation order, counting DNS-querying terms
 * and descending into literal include and redirect targets. Terms after "all"
 * are never evaluated by a receiver, so the walk ends there too.
 */
export async function walkRecord(state: WalkState, record: SpfRecord, domain: string): Promise<WalkOutcome> {
  state.chain.push(domainKey(domain));
  try {
    for (const directive of record.directives) {
      const { mechanism, text } = directive;
      if (mechanism.kind === 'all') return 'done';
      if (!DNS_QUERYING_TERMS.has(mechanism.kind)) continue;
      const limit = spend(state, text, domain);
      if (limit) return limit;
      if (mechanism.kind !== 'include') continue;
      const outcome = await descend(state, mechanism.domainSpec, text, domain);
      if (outcome !== 'done') return outcome;
    }
    if (record.redirect === null) return 'done';
    const term = `redirect=${record.redirect}`;
    const limit = spend(state, term, domain);
    return limit ?? (await descend(state, record.redirect, term, domain));
  } finally {
    state.chain.pop();
  }
}

function spend(state: WalkState, term: string, domain: string): WalkOutcome | null {
  state.lookups++;
  if (state.lookups <= state.maxLookups) return null;
  return {
    stop: 'permerror',
    reason: `more than ${state.maxLookups} DNS-querying terms; the limit is passed at "${term}" in the SPF record of ${domain}`,
  };
}

async function descend(state: WalkState, spec: string, term: string, domain: string): Promise<WalkOutcome> {
  if (spec.includes('%')) {
    state.skipped.push(`"${term}" at ${domain}`);
    return 'done';
  }
  const key = domainKey(spec);
  if (state.chain.includes(key)) {
    return { stop: 'permerror', reason: `include/redirect loop: ${[...state.chain, key].join(' → ')}` };
  }
  const isTarget = key === state.target;
  const fetched = await fetchSpfRecord(state.resolver, stripDot(spec));
  if (fetched.kind === 'stop') return { stop: fetched.stop, reason: `"${term}" at ${domain}: ${fetched.reason}` };
  // §5.2/§6.1: including or redirecting to a domain without SPF is a permerror for the receiver.
  if (fetched.kind === 'none') return { stop: 'permerror', reason: `"${term}" at ${domain}: ${fetched.reason}` };
  if (!isTarget) return walkRecord(state, fetched.record, stripDot(spec));
  // Reached: the target's own tree still spends lookups before our hosts can match, so count it too.
  const target = state.target;
  state.target = null;
  try {
    const outcome = await walkRecord(state, fetched.record, stripDot(spec));
    return typeof outcome === 'string' ? 'found' : outcome;
  } finally {
    state.target = target;
  }
}
