/** An in-memory CheckResolver over a zone table, for unit tests of the evaluators. */
import type { CheckResolver, LookupFailure, LookupResult, MxRecord } from '../../../src/dns/resolver';

type RecordType = 'txt' | 'a' | 'aaaa' | 'mx' | 'ptr' | 'cname';

export interface ZoneEntry {
  /** Each TXT record is one string, or its list of character-strings. */
  txt?: (string | string[])[];
  a?: string[];
  aaaa?: string[];
  /** "10 mail.example.com" or just the exchange (preference 10). */
  mx?: string[];
  ptr?: string[];
  /** A CNAME at the name (not followed: the other types answer as if it were not there). */
  cname?: string;
  /** Make lookups of these types fail. */
  errors?: Partial<Record<RecordType, LookupFailure>>;
}

export type Zone = Record<string, ZoneEntry>;

const key = (name: string): string => (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();

/**
 * Answers from the zone: a missing name is NXDOMAIN unless a longer name
 * below it exists (an empty non-terminal, so NODATA), a present name without
 * the type is NODATA. Every query is logged as "TYPE name".
 */
export class FakeResolver implements CheckResolver {
  readonly queries: string[] = [];
  private readonly zone: Map<string, ZoneEntry>;

  constructor(zone: Zone) {
    this.zone = new Map(Object.entries(zone).map(([name, entry]) => [key(name), entry]));
  }

  txt(name: string): Promise<LookupResult<string[]>> {
    return this.answer('txt', name, (e) => e.txt?.map((r) => (typeof r === 'string' ? [r] : r)));
  }

  a(name: string): Promise<LookupResult<string>> {
    return this.answer('a', name, (e) => e.a);
  }

  aaaa(name: string): Promise<LookupResult<string>> {
    return this.answer('aaaa', name, (e) => e.aaaa);
  }

  mx(name: string): Promise<LookupResult<MxRecord>> {
    return this.answer('mx', name, (e) =>
      e.mx?.map((text) => {
        const parts = text.split(' ');
        return parts.length === 2 ? { preference: Number(parts[0]), exchange: parts[1] } : { preference: 10, exchange: text };
      }),
    );
  }

  ptr(name: string): Promise<LookupResult<string>> {
    return this.answer('ptr', name, (e) => e.ptr);
  }

  cname(name: string): Promise<LookupResult<string>> {
    return this.answer('cname', name, (e) => (e.cname ? [e.cname] : undefined));
  }

  private async answer<T>(type: RecordType, name: string, pick: (entry: ZoneEntry) => T[] | undefined): Promise<LookupResult<T>> {
    this.queries.push(`${type.toUpperCase()} ${key(name)}`);
    const entry = this.zone.get(key(name));
    if (!entry) {
      const below = [...this.zone.keys()].some((n) => n.endsWith(`.${key(name)}`));
      return below ? { kind: 'nodata' } : { kind: 'nxdomain' };
    }
    const failure = entry.errors?.[type];
    if (failure) return { kind: 'error', failure };
    const records = pick(entry);
    return records && records.length > 0 ? { kind: 'answer', records } : { kind: 'nodata' };
  }
}
