import { evaluateDkim } from './dkim-record';
import { evaluateDmarc } from './dmarc';
import type { LookupResult } from '../dns/resolver';
import { evaluateSpfPolicy } from './spf-policy';
import { suggestSpfRecord } from './spf-suggest';
import { AuthoritativeResolver } from '../dns/authoritative-resolver';
import type { DnsClient } from '../dns/dns-client';
import { selectNameservers } from '../dns/nameserver-selection';
import { describeFailure } from '../dns/lookup';
import type { NameserverDiscovery, Nameserver } from '../dns/nameserver-discovery';
import { MemoResolver, type RecursiveResolver } from '../dns/recursive-resolver';
import { dkimRecordName, dkimValue, recordHost, spfValue } from './records';
import { mergeSpfRecords } from './value-diagnosis';
import { diagnoseRecord, type DiagnosisResolver } from './diagnosis-lookups';
import type { DiagnosisSubject } from './diagnosis';
import { aggregate, overall, type NameserverVerdict, type RecordCheck, type VerificationResult } from './verification-result';

/** What a check needs to know about a domain. */
export interface VerificationTarget {
  domain: string;
  spfInclude: string;
  selectors: Array<{ selector: string; keyType: 'rsa' | 'ed25519'; publicKey: string }>;
}

export interface DnsVerifierOptions {
  authPort: number;
  outboundIps: string[];
  /** HELO name for SPF macros: the relay's own host name. */
  helo: string;
  /** Query nameservers on loopback, private and other non-public addresses (DNS_ALLOW_PRIVATE; tests only). */
  allowPrivate: boolean;
}

export interface VerifyOptions {
  /**
   * How the authoritative nameservers are asked: `udp` (default, TCP on truncation) or
   * `tcp` only, to confirm a pass before it changes a domain's state.
   */
  transport?: 'udp' | 'tcp';
}

type Asked = { ns: Nameserver; resolver: DiagnosisResolver } | { ns: Nameserver; skipped: string };

/**
 * Checks a domain's SPF and DKIM on every authoritative nameserver separately and
 * aggregates the verdicts (DESIGN §2 step 3, §4).
 */
export class DnsVerifier {
  constructor(
    private readonly client: DnsClient,
    private readonly recursive: RecursiveResolver,
    private readonly discovery: NameserverDiscovery,
    private readonly options: DnsVerifierOptions,
  ) {}

  /** Runs one full check. Never throws for DNS trouble: that is a temperror in the result. */
  async verify(target: VerificationTarget, opts: VerifyOptions = {}): Promise<VerificationResult> {
    const t0 = process.hrtime.bigint();
    // One run asks each question of the recursive resolvers once, whichever nameserver needs it.
    const outside = new MemoResolver(this.recursive);
    const found = await this.discovery.discover(target.domain);
    const dmarcPromise = outside.txt(`_dmarc.${target.domain}`).then((r) => evaluateDmarc(r, target.domain));

    let records: RecordCheck[];
    let nameservers: Nameserver[] = [];
    let zone: string | null = null;
    if (found.kind === 'error') {
      records = this.expected(target).map((r) => ({ ...r, status: 'temperror', reason: `cannot find the authoritative nameservers: ${found.reason}` }));
    } else {
      zone = found.zone;
      nameservers = found.nameservers;
      const { skipped } = selectNameservers(nameservers, { allowPrivate: this.options.allowPrivate });
      const notAsked = new Map(skipped.map((x) => [x.ns, x.reason]));
      const resolvers: Asked[] = nameservers.map((ns) => {
        const reason = notAsked.get(ns);
        if (reason !== undefined) return { ns, skipped: reason };
        const server = { host: ns.ip, port: this.options.authPort };
        return { ns, resolver: new AuthoritativeResolver(this.client, server, found.zone, outside, opts.transport ?? 'udp') };
      });
      records = await Promise.all([this.checkSpf(target, resolvers), ...target.selectors.map((s) => this.checkDkim(target, s, resolvers))]);
      const apex = found.zone;
      records = await Promise.all(records.map((r) => withDiagnosis(r, subjectOf(target, r, apex), resolvers)));
    }
    const dmarc = await dmarcPromise;
    return {
      zone,
      nameservers,
      records,
      dmarc: { found: dmarc.found, advice: dmarc.advice },
      verdict: overall(records.map((r) => r.status)),
      durationMs: Number(process.hrtime.bigint() - t0) / 1e6,
    };
  }

  private expected(target: VerificationTarget): RecordCheck[] {
    const base = { found: [], reason: null, suggested: null, warnings: [], nameservers: [], status: 'temperror' as const };
    return [
      { purpose: 'spf', selector: null, name: target.domain, expected: spfValue(target.spfInclude), ...base },
      ...target.selectors.map((s) => ({
        purpose: 'dkim' as const,
        selector: s.selector,
        name: dkimRecordName(s.selector, target.domain),
        expected: dkimValue(s.keyType, s.publicKey),
        ...base,
      })),
    ];
  }

  private async checkSpf(target: VerificationTarget, resolvers: Asked[]): Promise<RecordCheck> {
    const perNs: NameserverVerdict[] = await Promise.all(
      resolvers.map(async (asked) => {
        if ('skipped' in asked) return notQueried(asked.ns, asked.skipped);
        const { ns, resolver } = asked;
        const r = await evaluateSpfPolicy(resolver, {
          domain: target.domain,
          outboundIps: this.options.outboundIps,
          includeDomain: target.spfInclude,
          helo: this.options.helo,
        });
        return { host: ns.host, ip: ns.ip, status: r.verdict, found: r.found, reason: r.reason };
      }),
    );
    const agg = aggregate(perNs);
    // `found` holds only SPF records (the evaluator selects them), across every nameserver.
    const existing = [...new Set(perNs.flatMap((n) => n.found))];
    // Several SPF records are merged into one (a second record is a permerror), ours included.
    const base = existing.length > 1 ? mergeSpfRecords(existing, target.spfInclude) : (existing[0] ?? null);
    const suggestion = suggestSpfRecord(base, target.spfInclude);
    const warnings = [...suggestion.warnings];
    if (existing.length > 1) warnings.push(`${existing.length} SPF records are published; SPF allows exactly one: merge them into the suggested record`);
    return {
      purpose: 'spf',
      selector: null,
      name: target.domain,
      expected: spfValue(target.spfInclude),
      status: agg.status,
      found: existing,
      reason: agg.reason,
      suggested: existing.length ? suggestion.value : null,
      warnings,
      nameservers: perNs,
    };
  }

  private async checkDkim(
    target: VerificationTarget,
    sel: VerificationTarget['selectors'][number],
    resolvers: Asked[],
  ): Promise<RecordCheck> {
    const name = dkimRecordName(sel.selector, target.domain);
    const perNs: NameserverVerdict[] = await Promise.all(
      resolvers.map(async (asked) => {
        if ('skipped' in asked) return notQueried(asked.ns, asked.skipped);
        const { ns, resolver } = asked;
        const res: LookupResult<string[]> = await resolver.txt(name);
        if (res.kind === 'error') return { host: ns.host, ip: ns.ip, status: 'temperror' as const, found: [], reason: describeFailure(res) };
        const r = evaluateDkim(res.kind === 'answer' ? res.records : [], { keyType: sel.keyType, publicKey: sel.publicKey });
        return { host: ns.host, ip: ns.ip, status: r.verdict, found: r.found, reason: r.reason };
      }),
    );
    const agg = aggregate(perNs);
    return {
      purpose: 'dkim',
      selector: sel.selector,
      name,
      expected: dkimValue(sel.keyType, sel.publicKey),
      status: agg.status,
      found: [...new Set(perNs.flatMap((n) => n.found))],
      reason: agg.reason,
      suggested: null,
      warnings: [],
      nameservers: perNs,
    };
  }
}

/**
 * A record check with its diagnosis when it failed: the likely mistake first in `reason`, and
 * `hint`, from a few lookups on the first nameserver where it failed (`record.nameservers`
 * follows the order of `resolvers`). Any record of a domain can go through it.
 */
export async function withDiagnosis(
  record: RecordCheck,
  subject: DiagnosisSubject | null,
  resolvers: Array<{ resolver: DiagnosisResolver } | { skipped: string }>,
): Promise<RecordCheck> {
  if (record.status !== 'fail' || subject === null) return { ...record, hint: null };
  const asked = resolvers[record.nameservers.findIndex((n) => n.status === 'fail')];
  if (!asked || !('resolver' in asked)) return { ...record, hint: null };
  const d = await diagnoseRecord(asked.resolver, subject);
  return d ? { ...record, reason: record.reason ? `${d.reason}; ${record.reason}` : d.reason, hint: d.hint } : { ...record, hint: null };
}

/** What the diagnosis of an SPF or DKIM record of the target needs to know; null for other records. */
function subjectOf(target: VerificationTarget, r: RecordCheck, zone: string): DiagnosisSubject | null {
  const base = { name: r.name, domain: target.domain, zone };
  if (r.purpose === 'spf') return { ...base, value: { kind: 'spf', includeDomain: target.spfInclude } };
  const sel = target.selectors.find((s) => s.selector === r.selector);
  if (!sel) return null;
  const otherSelectors = target.selectors
    .filter((o) => o !== sel)
    .map((o) => ({ selector: o.selector, host: recordHost(dkimRecordName(o.selector, target.domain), zone), publicKey: o.publicKey }));
  return { ...base, value: { kind: 'dkim', keyType: sel.keyType, publicKey: sel.publicKey, otherSelectors } };
}

/** A nameserver address the check did not query: a temperror that says why. */
function notQueried(ns: Nameserver, reason: string): NameserverVerdict {
  return { host: ns.host, ip: ns.ip, status: 'temperror', found: [], reason };
}
