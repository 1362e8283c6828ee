import { evaluateDkim } from './dkim-record';
import { evaluateDmarc } from './dmarc';
import type { CheckResolver, LookupResult } from '../dns/resolver';
import { evaluateSpfPolicy } from './spf-policy';
import { suggestSpfRecord } from './spf-suggest';
import { parseSpfRecord } from './spf-record';
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
import { excerpt } from './diagnosis-result';
import { aggregate, overall, type NameserverVerdict, type RecordCheck, type VerificationResult, type Verdict } from './verification-result';
import { evaluateReturnPathMx } from './return-path-mx';

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

/** What a return-path check needs to know (DESIGN §6). */
export interface ReturnPathTarget {
  subdomain: string;
  /** The domain the return path serves (a diagnosis looks for the subdomain typed relative to it). */
  domain: string;
  /** RETURN_PATH_MX_HOST. */
  mxHost: string;
  spfInclude: string;
}

/** The verdicts of a return path's two records, and together. */
export interface ReturnPathResult {
  /** The zone that holds the subdomain, as found; null when it could not be found. */
  zone: string | null;
  records: Array<{
    purpose: 'mx' | 'spf';
    status: Verdict;
    found: string[];
    reason: string | null;
    nameservers: NameserverVerdict[];
    /** When it fails: the likely mistake and what to type where (diagnosis.ts); null otherwise. */
    hint: string | null;
  }>;
  verdict: Verdict;
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
      const resolvers = this.ask(found.zone, nameservers, outside, opts.transport ?? 'udp');
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

  /**
   * Checks a return-path subdomain (DESIGN §6): an MX naming `mxHost` and an SPF record
   * authorising us, per authoritative nameserver, by the same evaluators and aggregation
   * as the domain's own records. A CNAME at the subdomain fails both: no other record may
   * sit beside a CNAME (RFC 1034 §3.6.2), so the MX and TXT cannot be published there.
   * A failed record is diagnosed like the domain's (withDiagnosis): zone doubled, subdomain
   * left out, a CNAME where MX and TXT belong.
   */
  async verifyReturnPath(target: ReturnPathTarget, opts: VerifyOptions = {}): Promise<ReturnPathResult> {
    const outside = new MemoResolver(this.recursive);
    const found = await this.discovery.discover(target.subdomain);
    if (found.kind === 'error') {
      const reason = `cannot find the authoritative nameservers: ${found.reason}`;
      const records = (['mx', 'spf'] as const).map((purpose) => ({ purpose, status: 'temperror' as const, found: [], reason, nameservers: [], hint: null }));
      return { zone: null, records, verdict: 'temperror' };
    }
    const asked = this.ask(found.zone, found.nameservers, outside, opts.transport ?? 'udp');
    const perNs = await Promise.all(
      asked.map(async (a) => {
        if ('skipped' in a) return { mx: notQueried(a.ns, a.skipped), spf: notQueried(a.ns, a.skipped) };
        const cname = await cnameAt(target.subdomain, a.ns, a.resolver);
        if (cname) return { mx: cname, spf: cname };
        const [mx, spf] = await Promise.all([
          a.resolver.mx(target.subdomain).then((r) => ({ host: a.ns.host, ip: a.ns.ip, ...evaluateReturnPathMx(r, target.mxHost) })),
          evaluateSpfPolicy(a.resolver, { domain: target.subdomain, outboundIps: this.options.outboundIps, includeDomain: target.spfInclude, helo: this.options.helo }).then(
            (r) => ({ host: a.ns.host, ip: a.ns.ip, status: r.verdict, found: r.found, reason: r.reason }),
          ),
        ]);
        return { mx, spf };
      }),
    );
    const zone = found.zone;
    const records = await Promise.all(
      (['mx', 'spf'] as const).map((purpose) => {
        const nameservers = perNs.map((n) => n[purpose]);
        const record = { purpose, ...aggregate(nameservers), found: [...new Set(nameservers.flatMap((n) => n.found))], nameservers };
        return withDiagnosis(record, returnPathSubject(target, purpose, zone), asked);
      }),
    );
    return { zone, records, verdict: overall(records.map((r) => r.status)) };
  }

  /** One resolver per authoritative nameserver address, or why that address is not asked. */
  private ask(zone: string, nameservers: Nameserver[], outside: CheckResolver, transport: 'udp' | 'tcp'): Asked[] {
    const { skipped } = selectNameservers(nameservers, { allowPrivate: this.options.allowPrivate });
    const notAsked = new Map(skipped.map((x) => [x.ns, x.reason]));
    return nameservers.map((ns) => {
      const reason = notAsked.get(ns);
      if (reason !== undefined) return { ns, skipped: reason };
      const server = { host: ns.ip, port: this.options.authPort };
      return { ns, resolver: new AuthoritativeResolver(this.client, server, zone, outside, transport) };
    });
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
    // The suggestion keeps what the owner authorised: every well-formed SPF record found (one
    // nameserver may hold several, or nameservers may disagree mid-change) merged into one with
    // our include. A record with a syntax error is not carried over: its terms are the zone
    // owner's text, possibly hostile, and would make the suggestion a permerror too.
    const wellFormed = existing.filter((v) => parseSpfRecord(v).ok);
    const base = wellFormed.length > 1 ? mergeSpfRecords(wellFormed, target.spfInclude) : (wellFormed[0] ?? null);
    const suggestion = suggestSpfRecord(base, target.spfInclude);
    const warnings = [...suggestion.warnings];
    const most = Math.max(0, ...perNs.map((n) => n.found.length));
    if (most > 1) warnings.push(`${most} SPF records are published; SPF allows exactly one: merge them into the suggested record`);
    if (wellFormed.length < existing.length) warnings.push('an SPF record with a syntax error was found; the suggested record does not carry its terms over');
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
export async function withDiagnosis<R extends Pick<RecordCheck, 'status' | 'reason' | 'nameservers'>>(
  record: R,
  subject: DiagnosisSubject | null,
  resolvers: Array<{ resolver: DiagnosisResolver } | { skipped: string }>,
): Promise<R & { hint: string | null }> {
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

/**
 * What the diagnosis of a return-path record needs to know: the MX or the SPF TXT at the
 * subdomain, each of which needs the other beside it (so a CNAME there is named as the
 * mistake it is), and the domain it serves (the subdomain typed relative to it).
 */
function returnPathSubject(target: ReturnPathTarget, purpose: 'mx' | 'spf', zone: string): DiagnosisSubject {
  const base = { name: target.subdomain, domain: target.domain, zone };
  return purpose === 'mx'
    ? { ...base, value: { kind: 'mx', exchange: target.mxHost }, alongside: ['TXT'] }
    : { ...base, value: { kind: 'spf', includeDomain: target.spfInclude }, alongside: ['MX'] };
}

/** A nameserver address the check did not query: a temperror that says why. */
function notQueried(ns: Nameserver, reason: string): NameserverVerdict {
  return { host: ns.host, ip: ns.ip, status: 'temperror', found: [], reason };
}

/** A failing verdict when the nameserver answers a CNAME at `name`; null otherwise (a lookup error is left to the record checks). */
async function cnameAt(name: string, ns: Nameserver, resolver: DiagnosisResolver): Promise<NameserverVerdict | null> {
  const out = await resolver.cname(name);
  if (out.kind !== 'answer' || out.records.length === 0) return null;
  // The target is the zone owner's text: echoed only as a short, cleaned excerpt.
  const target = excerpt(out.records[0], 80);
  const reason = `${name} is a CNAME (to ${target}), so the MX and TXT records a return path needs cannot sit beside it`;
  return { host: ns.host, ip: ns.ip, status: 'fail', found: [`CNAME ${target}`], reason };
}
