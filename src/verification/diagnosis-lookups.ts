/**
 * The few extra lookups a diagnosis needs (DESIGN §6), made only when a check has failed, on
 * the nameserver where it failed: the CNAME and the records at the name itself, the records at
 * the names where misplaced copies usually land, and for SPF the lookup cost of each include.
 * At most DIAGNOSIS_QUERY_BUDGET queries per record, each with the client's usual timeout.
 */
import type { CheckResolver, LookupResult, MxRecord } from '../dns/resolver';
import { diagnose, misplacedNames, capRecords, type Diagnosis, type DiagnosisEvidence, type DiagnosisSubject, type FoundRecords } from './diagnosis';
import { isSpfRecord } from './spf-record';
import { spfTermCosts } from './spf-costs';
import { suggestSpfRecord } from './spf-suggest';
import { mergeSpfRecords } from './value-diagnosis';

/** A resolver that can also say whether a name is a CNAME (AuthoritativeResolver). */
export interface DiagnosisResolver extends CheckResolver {
  /** The CNAME target at `name` itself, without following it. */
  cname(name: string): Promise<LookupResult<string>>;
}

/** The most queries one record's diagnosis makes, SPF include walks included. */
export const DIAGNOSIS_QUERY_BUDGET = 24;

const spent: LookupResult<never> = { kind: 'error', failure: 'network-error', detail: 'diagnosis query budget spent' };

/** Passes queries through until the budget is spent, then answers every one with an error. */
class BudgetedResolver implements DiagnosisResolver {
  constructor(
    private readonly inner: DiagnosisResolver,
    private left: number,
  ) {}

  private ask<T>(fn: () => Promise<LookupResult<T>>): Promise<LookupResult<T>> {
    if (this.left <= 0) return Promise.resolve(spent);
    this.left--;
    return fn();
  }
  txt(name: string) {
    return this.ask(() => this.inner.txt(name));
  }
  a(name: string) {
    return this.ask(() => this.inner.a(name));
  }
  aaaa(name: string) {
    return this.ask(() => this.inner.aaaa(name));
  }
  mx(name: string): Promise<LookupResult<MxRecord>> {
    return this.ask(() => this.inner.mx(name));
  }
  ptr(name: string) {
    return this.ask(() => this.inner.ptr(name));
  }
  cname(name: string) {
    return this.ask(() => this.inner.cname(name));
  }
}

/** Looks up what diagnose() needs for one failed record. */
export async function gatherEvidence(resolver: DiagnosisResolver, subject: DiagnosisSubject): Promise<DiagnosisEvidence> {
  const budget = new BudgetedResolver(resolver, DIAGNOSIS_QUERY_BUDGET);
  const records = async (name: string): Promise<FoundRecords | null> => {
    if (subject.value.kind === 'mx') {
      const r = await budget.mx(name);
      return r.kind === 'answer' ? r.records.map((m) => [m.exchange]) : r.kind === 'error' ? null : [];
    }
    const r = await budget.txt(name);
    return r.kind === 'answer' ? r.records : r.kind === 'error' ? null : [];
  };
  const places = misplacedNames(subject);
  const [cname, atName, ...elsewhere] = await Promise.all([
    budget.cname(subject.name),
    records(subject.name),
    ...places.map((p) => records(p.name)),
  ]);
  const evidence: DiagnosisEvidence = {
    cname: cname.kind === 'answer' && cname.records.length ? cname.records[0] : null,
    atName: atName === null ? null : capRecords(atName),
    elsewhere: places.flatMap((p, i) => (elsewhere[i] ? [{ name: p.name, records: capRecords(elsewhere[i]) }] : [])),
  };
  if (subject.value.kind === 'spf' && evidence.atName) {
    const spf = evidence.atName.map((r) => r.join('')).filter(isSpfRecord);
    const include = subject.value.includeDomain;
    if (spf.length) {
      const withOurs = spf.length > 1 ? mergeSpfRecords(spf, include) : suggestSpfRecord(spf[0], include).value;
      evidence.spfCosts = (await spfTermCosts(budget, withOurs, subject.name)) ?? undefined;
    }
  }
  return evidence;
}

/**
 * Diagnoses one failed record: call it with a resolver bound to a nameserver where the check
 * failed. Never throws for DNS trouble; null when none of the usual mistakes fits.
 */
export async function diagnoseRecord(resolver: DiagnosisResolver, subject: DiagnosisSubject): Promise<Diagnosis | null> {
  return diagnose(subject, await gatherEvidence(resolver, subject));
}
