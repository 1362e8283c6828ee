import type { Answer, RecordType } from 'dns-packet';
import type { LookupResult, MxRecord } from './resolver';
import { canonicalName, type DnsOutcome } from './dns-client';

/** Turns a raw outcome into the evaluators' LookupResult, mapping record data by type. */
export function toLookup<T>(outcome: DnsOutcome, map: (a: Answer) => T): LookupResult<T> {
  switch (outcome.kind) {
    case 'answer':
      return { kind: 'answer', records: outcome.records.map(map) };
    case 'nxdomain':
      return { kind: 'nxdomain' };
    case 'nodata':
      return { kind: 'nodata' };
    case 'network-error':
      return { kind: 'error', failure: 'network-error', detail: outcome.detail };
    default:
      return { kind: 'error', failure: outcome.kind };
  }
}

const data = (a: Answer) => (a as { data: unknown }).data;

export const RECORD_MAPPERS = {
  TXT: (a: Answer): string[] => (data(a) as Array<Buffer | string>).map((s) => (Buffer.isBuffer(s) ? s.toString('utf8') : s)),
  A: (a: Answer): string => String(data(a)),
  AAAA: (a: Answer): string => String(data(a)),
  PTR: (a: Answer): string => canonicalName(String(data(a))),
  CNAME: (a: Answer): string => canonicalName(String(data(a))),
  MX: (a: Answer): MxRecord => {
    const d = data(a) as { exchange: string; preference: number };
    return { exchange: canonicalName(d.exchange), preference: d.preference };
  },
} satisfies Partial<Record<RecordType, (a: Answer) => unknown>>;

/** A short human description of a failed lookup, for reasons. */
export function describeFailure(r: LookupResult<unknown>): string {
  if (r.kind === 'error') return r.detail ? `${r.failure} (${r.detail})` : r.failure;
  return r.kind;
}
