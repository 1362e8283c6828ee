/** What each top-level term of an SPF record costs a receiver in DNS lookups, nested includes counted. */
import type { CheckResolver } from '../dns/resolver';
import { stripDot } from './spf-lookup';
import { parseSpfRecord, DNS_QUERYING_TERMS } from './spf-record';
import { domainKey, fetchSpfRecord, walkRecord, type WalkState } from './spf-walk';
import type { SpfTermCost } from './value-diagnosis';

/**
 * The lookups of each DNS-querying term of `value` (published at `domain`), in order, up to
 * the first `all`: 1 for a, mx, ptr and exists; 1 plus the target's own tree for include and
 * redirect (each walked on its own, stopping past 10). Null when the record does not parse.
 */
export async function spfTermCosts(resolver: CheckResolver, value: string, domain: string): Promise<SpfTermCost[] | null> {
  const parsed = parseSpfRecord(value);
  if (!parsed.ok) return null;
  const out: SpfTermCost[] = [];
  for (const { mechanism, text } of parsed.record.directives) {
    if (mechanism.kind === 'all') return out;
    if (!DNS_QUERYING_TERMS.has(mechanism.kind)) continue;
    if (mechanism.kind !== 'include') out.push({ term: text, lookups: 1, complete: true });
    else out.push({ term: text, ...(await nestedCost(resolver, mechanism.domainSpec, domain)) });
  }
  const redirect = parsed.record.redirect;
  if (redirect !== null) out.push({ term: `redirect=${redirect}`, ...(await nestedCost(resolver, redirect, domain)) });
  return out;
}

async function nestedCost(resolver: CheckResolver, spec: string, from: string): Promise<{ lookups: number; complete: boolean }> {
  if (spec.includes('%')) return { lookups: 1, complete: false };
  const fetched = await fetchSpfRecord(resolver, stripDot(spec));
  if (fetched.kind !== 'record') return { lookups: 1, complete: !(fetched.kind === 'stop' && fetched.stop === 'temperror') };
  const state: WalkState = { resolver, lookups: 0, maxLookups: 10, chain: [domainKey(from)], target: null, skipped: [] };
  const outcome = await walkRecord(state, fetched.record, stripDot(spec));
  return { lookups: 1 + state.lookups, complete: outcome === 'done' && state.skipped.length === 0 };
}
