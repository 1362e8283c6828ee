/** The SPF verdict of DESIGN §4: per outbound ip when those are known, otherwise "our include is reached". */
import type { CheckResolver } from '../dns/resolver';
import { checkHost, type SpfOutcome } from './spf-eval';
import { domainKey, fetchSpfRecord, walkRecord, type WalkState } from './spf-walk';
import type { Verdict } from './verdict';

export interface SpfPolicyResult {
  verdict: Verdict;
  /** Why it is not a pass, in words; null on pass. */
  reason: string | null;
  /** The SPF records seen at the domain. */
  found: string[];
  /** One check_host() outcome per outbound ip, when outbound ips were given. */
  perIp?: { ip: string; outcome: SpfOutcome }[];
}

export interface SpfPolicyRequest {
  domain: string;
  /** The relay's outbound ips; empty means "check for the include instead". */
  outboundIps: string[];
  includeDomain: string;
  /** The HELO name the relay uses, for %{h}. */
  helo?: string;
}

/**
 * Decides whether the domain's SPF authorises us. With outbound ips, every ip
 * must get `pass` from check_host() for sender postmaster@domain; a temperror
 * only wins when nothing definitive failed. Without them, the record must reach
 * include:{includeDomain}.
 */
export async function evaluateSpfPolicy(resolver: CheckResolver, request: SpfPolicyRequest): Promise<SpfPolicyResult> {
  if (request.outboundIps.length === 0) return spfIncludesDomain(resolver, request.domain, request.includeDomain);
  const perIp: { ip: string; outcome: SpfOutcome }[] = [];
  for (const ip of request.outboundIps) {
    const outcome = await checkHost(resolver, { ip, domain: request.domain, sender: `postmaster@${request.domain}`, helo: request.helo });
    perIp.push({ ip, outcome });
  }
  const found = perIp[0].outcome.records;
  const describe = (list: typeof perIp): string => list.map(({ ip, outcome }) => `${ip}: ${outcome.result} (${outcome.reason})`).join('; ');
  const failed = perIp.filter(({ outcome }) => outcome.result !== 'pass' && outcome.result !== 'temperror');
  if (failed.length > 0) {
    return { verdict: 'fail', reason: `SPF of ${request.domain} does not pass every outbound IP: ${describe(failed)}`, found, perIp };
  }
  const temporary = perIp.filter(({ outcome }) => outcome.result === 'temperror');
  if (temporary.length > 0) {
    return { verdict: 'temperror', reason: `SPF of ${request.domain} could not be evaluated: ${describe(temporary)}`, found, perIp };
  }
  return { verdict: 'pass', reason: null, found, perIp };
}

/**
 * True (verdict pass) when include:{includeDomain} is reached from the
 * domain's SPF record directly or through literal include/redirect chains,
 * with the DNS-querying terms spent on the way (and in our own record) within 10.
 * Includes whose target is a macro cannot be followed and are skipped.
 */
export async function spfIncludesDomain(resolver: CheckResolver, domain: string, includeDomain: string): Promise<SpfPolicyResult> {
  const fetched = await fetchSpfRecord(resolver, domain);
  const found = fetched.all;
  if (fetched.kind === 'none') return { verdict: 'fail', reason: `no SPF record: ${fetched.reason}`, found };
  if (fetched.kind === 'stop') {
    return fetched.stop === 'temperror'
      ? { verdict: 'temperror', reason: fetched.reason, found }
      : { verdict: 'fail', reason: `permerror: ${fetched.reason}`, found };
  }
  const state: WalkState = { resolver, lookups: 0, maxLookups: 10, chain: [], target: domainKey(includeDomain), skipped: [] };
  const outcome = await walkRecord(state, fetched.record, domainKey(domain));
  if (outcome === 'found') return { verdict: 'pass', reason: null, found };
  if (outcome !== 'done') {
    return outcome.stop === 'temperror'
      ? { verdict: 'temperror', reason: outcome.reason, found }
      : { verdict: 'fail', reason: `permerror: ${outcome.reason}`, found };
  }
  const afterAll = unreachableInclude(fetched.value, includeDomain);
  const skipped = state.skipped.length > 0 ? `; includes with macros could not be followed: ${state.skipped.join(', ')}` : '';
  const reason = afterAll
    ? `"include:${includeDomain}" comes after "${afterAll}" in the SPF record of ${domain}, so receivers never evaluate it`
    : `the SPF record of ${domain} does not reach include:${includeDomain}, directly or through include/redirect${skipped}`;
  return { verdict: 'fail', reason, found };
}

/** The "all" term that hides a top-level include of ours, if the include is written after it. */
function unreachableInclude(value: string, includeDomain: string): string | null {
  const terms = value.split(' ');
  const allIndex = terms.findIndex((t) => /^[+\-~?]?all$/i.test(t));
  if (allIndex < 0) return null;
  const ours = terms.findIndex((t) => /^[+\-~?]?include:/i.test(t) && domainKey(t.slice(t.indexOf(':') + 1)) === domainKey(includeDomain));
  return ours > allIndex ? terms[allIndex] : null;
}
