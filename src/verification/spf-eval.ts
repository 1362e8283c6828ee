/** RFC 7208 check_host(): evaluates a domain's SPF record for one client ip. */
import { formatIp, inCidr, parseIp } from './ip-address';
import type { CheckResolver } from '../dns/resolver';
import {
  addressLookup, anyAddressMatches, countLookup, countVoid, invalidDomainReason, isWithin, lookupFailure,
  macroContext, stripDot, targetName, validatedNames,
  type EvaluationState, type SpfAbort, type SpfResult,
} from './spf-lookup';
import { expandMacroTokens, needsValidatedDomain, parseMacroString } from './spf-macro';
import { parseSpfRecord, selectSpfRecords, type Directive, type Qualifier } from './spf-record';
import { assembleTxt } from './txt';

export type { SpfResult } from './spf-lookup';

export interface SpfRequest {
  /** The SMTP client's address, IPv4 or IPv6. */
  ip: string;
  /** The domain whose policy is checked: the MAIL FROM domain, or the HELO name. */
  domain: string;
  /** The MAIL FROM address; empty means a null reverse-path, so postmaster@helo is used (§2.4). */
  sender?: string;
  /** The HELO/EHLO name, for %{h}. */
  helo?: string;
}

export interface SpfOptions {
  /** DNS-querying terms allowed across the evaluation (§4.6.4); 10 unless a test says otherwise. */
  maxLookups?: number;
  /** Void lookups allowed (§4.6.4); 2 by default. */
  maxVoidLookups?: number;
  /** %{r} in explanations. */
  receivingDomain?: string;
  /** %{t} in explanations, seconds since the epoch. */
  timestamp?: number;
}

export interface SpfOutcome {
  result: SpfResult;
  /** Why, in words: which term matched, or what went wrong where. */
  reason: string;
  /** The term that decided, as written in the record where it matched. */
  matched?: string;
  /** The domain's exp= explanation, only ever for a fail. */
  explanation?: string;
  lookups: number;
  voidLookups: number;
  /** The SPF records found at the first domain (several means permerror). */
  records: string[];
}

interface Decision {
  result: SpfResult;
  reason: string;
  matched?: string;
  explanation?: string;
}

const QUALIFIER_RESULT: Record<Qualifier, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

/**
 * Evaluates `domain`'s SPF policy for `ip` per RFC 7208 §4, following include
 * and redirect with the lookup limits. Throws only on an unparseable `ip`,
 * which is the caller's bug rather than the domain's.
 */
export async function checkHost(resolver: CheckResolver, request: SpfRequest, options: SpfOptions = {}): Promise<SpfOutcome> {
  const ip = parseIp(request.ip);
  if (!ip) throw new TypeError(`checkHost: "${request.ip}" is not an IP address`);
  const helo = request.helo ?? '';
  const rawSender = request.sender ?? '';
  const at = rawSender.lastIndexOf('@');
  const senderDomain = at >= 0 ? rawSender.slice(at + 1) : rawSender || helo;
  // §4.3: a sender without a local part is treated as postmaster@domain.
  const localPart = at > 0 ? rawSender.slice(0, at) : 'postmaster';
  const state: EvaluationState = {
    resolver,
    ip,
    macros: {
      sender: `${localPart}@${senderDomain}`,
      localPart,
      senderDomain,
      ip,
      helo,
      receivingDomain: options.receivingDomain ?? 'unknown',
      timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    },
    lookups: 0,
    voidLookups: 0,
    maxLookups: options.maxLookups ?? 10,
    maxVoidLookups: options.maxVoidLookups ?? 2,
    chain: [],
  };
  const records: string[] = [];
  const decision = await evaluateDomain(state, stripDot(request.domain), true, records);
  return { ...decision, lookups: state.lookups, voidLookups: state.voidLookups, records };
}

async function evaluateDomain(state: EvaluationState, domain: string, wantExplanation: boolean, seen?: string[]): Promise<Decision> {
  const invalid = invalidDomainReason(domain);
  if (invalid) return { result: 'none', reason: `no SPF check possible: ${invalid}` };
  const answer = await state.resolver.txt(domain);
  if (answer.kind === 'error') return { result: 'temperror', reason: lookupFailure('TXT', domain, answer) };
  if (answer.kind === 'nxdomain') return { result: 'none', reason: `${domain} does not exist` };
  const spf = answer.kind === 'answer' ? selectSpfRecords(answer.records) : [];
  seen?.push(...spf);
  if (spf.length === 0) return { result: 'none', reason: `no SPF record at ${domain}` };
  if (spf.length > 1) {
    return { result: 'permerror', reason: `${domain} publishes ${spf.length} SPF records; it must publish exactly one` };
  }
  const parsed = parseSpfRecord(spf[0]);
  if (!parsed.ok) return { result: 'permerror', reason: `syntax error in the SPF record of ${domain}: ${parsed.reason}` };
  const { record } = parsed;

  state.chain.push(domain.toLowerCase());
  try {
    for (const directive of record.directives) {
      const outcome = await matchDirective(state, directive, domain);
      if ('result' in outcome) return outcome;
      if (!outcome.match) continue;
      const result = QUALIFIER_RESULT[directive.qualifier];
      const decision: Decision = { result, reason: outcome.reason, matched: directive.text };
      if (result === 'fail' && wantExplanation && record.exp !== null) {
        const explanation = await explain(state, record.exp, domain);
        if (explanation !== undefined) decision.explanation = explanation;
      }
      return decision;
    }
    // §6.1 ignores redirect when the record has "all"; "all" always matches, so reaching here means there is none.
    if (record.redirect === null) {
      return { result: 'neutral', reason: `no mechanism in the SPF record of ${domain} matched ${formatIp(state.ip)} (default neutral)` };
    }
    return await followRedirect(state, record.redirect, domain, wantExplanation);
  } finally {
    state.chain.pop();
  }
}

async function followRedirect(state: EvaluationState, spec: string, domain: string, wantExplanation: boolean): Promise<Decision> {
  const term = `redirect=${spec}`;
  const limit = countLookup(state, term, domain);
  if (limit) return limit;
  const target = await targetName(state, spec, domain, term);
  if ('result' in target) return target;
  const loop = loopReason(state, target.name);
  if (loop) return { result: 'permerror', reason: loop };
  const sub = await evaluateDomain(state, target.name, wantExplanation);
  // §6.1: a redirect to a domain without an SPF record is a permerror, not none.
  if (sub.result === 'none') return { result: 'permerror', reason: `"${term}" at ${domain}: ${sub.reason}` };
  return { ...sub, reason: `"${term}" at ${domain}: ${sub.reason}` };
}

type Match = { match: boolean; reason: string } | SpfAbort;

async function matchDirective(state: EvaluationState, directive: Directive, domain: string): Promise<Match> {
  const { mechanism, text } = directive;
  const ipText = formatIp(state.ip);
  const hit: Match = { match: true, reason: `${ipText} matched "${text}" in the SPF record of ${domain}` };
  const miss: Match = { match: false, reason: '' };
  switch (mechanism.kind) {
    case 'all':
      return hit;
    case 'ip4':
    case 'ip6':
      return inCidr(state.ip, mechanism.network, mechanism.prefix) ? hit : miss;
    default:
      break;
  }
  const limit = countLookup(state, text, domain);
  if (limit) return limit;
  const target = await targetName(state, mechanism.domainSpec, domain, text);
  if ('result' in target) return target;
  const name = target.name;
  switch (mechanism.kind) {
    case 'include':
      return matchInclude(state, text, name, domain);
    case 'a': {
      const answer = await addressLookup(state, name);
      if (answer.kind === 'error') return { result: 'temperror', reason: `"${text}" at ${domain}: ${lookupFailure(state.ip.version === 4 ? 'A' : 'AAAA', name, answer)}` };
      if (answer.kind !== 'answer' || answer.records.length === 0) return countVoid(state, text, domain) ?? miss;
      return anyAddressMatches(state, answer.records, mechanism.prefix4, mechanism.prefix6) ? hit : miss;
    }
    case 'mx':
      return matchMx(state, text, name, domain, mechanism.prefix4, mechanism.prefix6, hit);
    case 'ptr': {
      const { names, void: isVoid } = await validatedNames(state);
      if (isVoid) return countVoid(state, text, domain) ?? miss;
      return names.some((n) => isWithin(n, name)) ? hit : miss;
    }
    case 'exists': {
      // §5.7: exists always queries A, whatever the ip's version.
      const answer = await state.resolver.a(name);
      if (answer.kind === 'error') return { result: 'temperror', reason: `"${text}" at ${domain}: ${lookupFailure('A', name, answer)}` };
      if (answer.kind !== 'answer' || answer.records.length === 0) return countVoid(state, text, domain) ?? miss;
      return { match: true, reason: `"${text}" in the SPF record of ${domain} matched (${name} exists)` };
    }
  }
}

async function matchInclude(state: EvaluationState, text: string, name: string, domain: string): Promise<Match> {
  const loop = loopReason(state, name);
  if (loop) return { result: 'permerror', reason: loop };
  const sub = await evaluateDomain(state, name, false);
  const where = `"${text}" at ${domain}`;
  switch (sub.result) {
    case 'pass':
      return { match: true, reason: `${where} matched: ${sub.reason}` };
    case 'fail':
    case 'softfail':
    case 'neutral':
      return { match: false, reason: '' };
    case 'temperror':
      return { result: 'temperror', reason: `${where}: ${sub.reason}` };
    case 'permerror':
      return { result: 'permerror', reason: `${where}: ${sub.reason}` };
    case 'none':
      // §5.2: including a domain without an SPF record is a permerror.
      return { result: 'permerror', reason: `${where}: ${sub.reason}` };
  }
}

async function matchMx(
  state: EvaluationState, text: string, name: string, domain: string, prefix4: number, prefix6: number,
  hit: Match,
): Promise<Match> {
  const answer = await state.resolver.mx(name);
  if (answer.kind === 'error') return { result: 'temperror', reason: `"${text}" at ${domain}: ${lookupFailure('MX', name, answer)}` };
  if (answer.kind !== 'answer' || answer.records.length === 0) return countVoid(state, text, domain) ?? { match: false, reason: '' };
  // §4.6.4: one mx term may look up at most 10 hosts' addresses.
  if (answer.records.length > 10) {
    return { result: 'permerror', reason: `"${text}" at ${domain}: ${name} has ${answer.records.length} MX records; SPF allows at most 10` };
  }
  const hosts = [...answer.records].sort((x, y) => x.preference - y.preference).map((r) => stripDot(r.exchange));
  for (const host of hosts) {
    // A null MX (RFC 7505) names no host, so there is nothing to look up.
    if (host === '') continue;
    const addresses = await addressLookup(state, host);
    if (addresses.kind === 'error') return { result: 'temperror', reason: `"${text}" at ${domain}: ${lookupFailure(state.ip.version === 4 ? 'A' : 'AAAA', host, addresses)}` };
    if (addresses.kind === 'answer' && anyAddressMatches(state, addresses.records, prefix4, prefix6)) return hit;
  }
  return { match: false, reason: '' };
}

function loopReason(state: EvaluationState, target: string): string | null {
  const key = stripDot(target).toLowerCase();
  if (!state.chain.includes(key)) return null;
  return `include/redirect loop: ${[...state.chain, key].join(' → ')}`;
}

/** §6.2: the exp= text, or undefined when it cannot be fetched or expanded; never changes the result. */
async function explain(state: EvaluationState, spec: string, domain: string): Promise<string | undefined> {
  const target = await targetName(state, spec, domain, `exp=${spec}`);
  if ('result' in target) return undefined;
  const answer = await state.resolver.txt(target.name);
  if (answer.kind !== 'answer' || answer.records.length !== 1) return undefined;
  const parsed = parseMacroString(assembleTxt(answer.records[0]), true);
  if (!parsed.ok) return undefined;
  const context = await macroContext(state, domain, needsValidatedDomain(parsed.tokens));
  return expandMacroTokens(parsed.tokens, context);
}
