/**
 * The DNS side of one check_host() evaluation: the shared lookup and void
 * counters (RFC 7208 §4.6.4), address lookups, validated PTR names (§5.5) and
 * target-name expansion (§4.8, §7).
 */
import { inCidr, parseIp, reverseName, type IpAddress } from './ip-address';
import type { CheckResolver, LookupResult } from '../dns/resolver';
import { expandMacroTokens, needsValidatedDomain, parseMacroString, type MacroContext } from './spf-macro';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

/** Stops evaluation with a permerror or temperror, carrying the reason up unchanged. */
export interface SpfAbort {
  result: 'permerror' | 'temperror';
  reason: string;
}

/** Mutable state shared by every record visited while evaluating one ip. */
export interface EvaluationState {
  resolver: CheckResolver;
  ip: IpAddress;
  /** The macro context minus the per-record <domain> and %{p}. */
  macros: Omit<MacroContext, 'domain' | 'validatedDomain'>;
  lookups: number;
  voidLookups: number;
  maxLookups: number;
  maxVoidLookups: number;
  /** The include/redirect path from the first domain to the current one, for loop detection. */
  chain: string[];
  /** The ip's validated PTR names, looked up at most once per evaluation. */
  ptrNames?: { names: string[]; void: boolean };
}

/** RFC 7208 §4.6.4: at most 10 terms that query DNS, across the whole evaluation. */
export function countLookup(state: EvaluationState, term: string, domain: string): SpfAbort | null {
  state.lookups++;
  if (state.lookups <= state.maxLookups) return null;
  return {
    result: 'permerror',
    reason: `more than ${state.maxLookups} DNS-querying terms (include, a, mx, ptr, exists, redirect); the limit was passed at "${term}" in the SPF record of ${domain}`,
  };
}

/** RFC 7208 §4.6.4: answers that are NXDOMAIN or empty count as void lookups, at most 2. */
export function countVoid(state: EvaluationState, term: string, domain: string): SpfAbort | null {
  state.voidLookups++;
  if (state.voidLookups <= state.maxVoidLookups) return null;
  return {
    result: 'permerror',
    reason: `more than ${state.maxVoidLookups} void lookups (NXDOMAIN or no records); the limit was passed at "${term}" in the SPF record of ${domain}`,
  };
}

/** Describes a failed lookup for a temperror reason. */
export function lookupFailure(type: string, name: string, answer: Extract<LookupResult<unknown>, { kind: 'error' }>): string {
  const detail = answer.detail ? ` (${answer.detail})` : '';
  return `DNS ${type} lookup of ${name} failed: ${answer.failure}${detail}`;
}

/** A or AAAA, whichever matches the ip's version (§5). */
export function addressLookup(state: EvaluationState, name: string): Promise<LookupResult<string>> {
  return state.ip.version === 4 ? state.resolver.a(name) : state.resolver.aaaa(name);
}

/** True when any address in the answer lies in ip/prefix for the ip's version. */
export function anyAddressMatches(state: EvaluationState, addresses: string[], prefix4: number, prefix6: number): boolean {
  return addresses.some((text) => {
    const address = parseIp(text);
    if (!address) return false;
    return inCidr(state.ip, address, address.version === 4 ? prefix4 : prefix6);
  });
}

/**
 * The ip's validated PTR names (§5.5): PTR targets whose own addresses include
 * the ip. A failed PTR lookup gives no names; a failed address lookup skips
 * that name; only the first 10 names are tried (§4.6.4).
 */
export async function validatedNames(state: EvaluationState): Promise<{ names: string[]; void: boolean }> {
  state.ptrNames ??= await lookUpValidatedNames(state);
  return state.ptrNames;
}

async function lookUpValidatedNames(state: EvaluationState): Promise<{ names: string[]; void: boolean }> {
  const answer = await state.resolver.ptr(reverseName(state.ip));
  if (answer.kind !== 'answer') return { names: [], void: answer.kind !== 'error' };
  if (answer.records.length === 0) return { names: [], void: true };
  const names: string[] = [];
  for (const name of answer.records.slice(0, 10)) {
    const host = stripDot(name);
    const addresses = await addressLookup(state, host);
    if (addresses.kind === 'answer' && anyAddressMatches(state, addresses.records, 32, 128)) names.push(host);
  }
  return { names, void: false };
}

/** True when `name` is `domain` or one of its subdomains, ignoring case and a trailing dot. */
export function isWithin(name: string, domain: string): boolean {
  const n = stripDot(name).toLowerCase();
  const d = stripDot(domain).toLowerCase();
  return n === d || n.endsWith(`.${d}`);
}

export function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * Why a name cannot be looked up (empty or over-long label, not multi-label),
 * or null when it is usable (§4.3).
 */
export function invalidDomainReason(name: string): string | null {
  const labels = stripDot(name).split('.');
  if (labels.length < 2) return `"${name}" is not a multi-label domain name`;
  if (labels.some((l) => l === '')) return `"${name}" has an empty label`;
  if (labels.some((l) => l.length > 63)) return `"${name}" has a label longer than 63 characters`;
  if (stripDot(name).length > 253) return `"${name}" is longer than 253 characters`;
  return null;
}

/**
 * Expands a mechanism's domain-spec (or uses the current domain) into the
 * name to query, truncated from the left to 253 characters (§7.3).
 */
export async function targetName(
  state: EvaluationState,
  spec: string | null,
  domain: string,
  term: string,
): Promise<{ name: string } | SpfAbort> {
  if (spec === null) return { name: domain };
  const parsed = parseMacroString(spec);
  if (!parsed.ok) return { result: 'permerror', reason: `invalid domain in "${term}": ${parsed.reason}` };
  const context = await macroContext(state, domain, needsValidatedDomain(parsed.tokens));
  let name = stripDot(expandMacroTokens(parsed.tokens, context));
  while (name.length > 253 && name.includes('.')) name = name.slice(name.indexOf('.') + 1);
  const invalid = invalidDomainReason(name);
  if (invalid) return { result: 'permerror', reason: `"${term}" in the SPF record of ${domain} expands to an unusable name: ${invalid}` };
  return { name };
}

/** The full macro context for a record at `domain`; %{p} is only resolved when asked for. */
export async function macroContext(state: EvaluationState, domain: string, withValidatedDomain: boolean): Promise<MacroContext> {
  let validatedDomain = 'unknown';
  if (withValidatedDomain) {
    const { names } = await validatedNames(state);
    // §7.3: prefer <domain> itself, then a subdomain of it, then any validated name.
    const exact = names.find((n) => stripDot(n).toLowerCase() === domain.toLowerCase());
    validatedDomain = exact ?? names.find((n) => isWithin(n, domain)) ?? names[0] ?? 'unknown';
  }
  return { ...state.macros, domain, validatedDomain };
}
