import type { RecordType } from 'dns-packet';
import type { CheckResolver, LookupResult, MxRecord } from './resolver';
import { type DnsClient, type DnsOutcome, type DnsServer } from './dns-client';
import { RECORD_MAPPERS, toLookup } from './lookup';

/**
 * Asks the configured recursive resolvers (DNS_RESOLVERS, RD on), trying the next
 * one when a resolver times out, fails or refuses.
 */
export class RecursiveResolver implements CheckResolver {
  constructor(
    private readonly client: DnsClient,
    private readonly resolvers: DnsServer[],
  ) {}

  /** The raw outcome from the first resolver that gives a usable answer. */
  async raw(name: string, type: RecordType): Promise<DnsOutcome> {
    let last: DnsOutcome = { kind: 'network-error', detail: 'no resolvers configured' };
    for (const server of this.resolvers) {
      last = await this.client.query(name, type, server, { recursionDesired: true });
      if (last.kind === 'answer' || last.kind === 'nxdomain' || last.kind === 'nodata') return last;
    }
    return last;
  }

  private async lookup<T>(name: string, type: keyof typeof RECORD_MAPPERS & RecordType, map: (a: never) => T): Promise<LookupResult<T>> {
    return toLookup(await this.raw(name, type), map as never);
  }

  txt(name: string): Promise<LookupResult<string[]>> {
    return this.lookup(name, 'TXT', RECORD_MAPPERS.TXT);
  }
  a(name: string): Promise<LookupResult<string>> {
    return this.lookup(name, 'A', RECORD_MAPPERS.A);
  }
  aaaa(name: string): Promise<LookupResult<string>> {
    return this.lookup(name, 'AAAA', RECORD_MAPPERS.AAAA);
  }
  mx(name: string): Promise<LookupResult<MxRecord>> {
    return this.lookup(name, 'MX', RECORD_MAPPERS.MX);
  }
  ptr(name: string): Promise<LookupResult<string>> {
    return this.lookup(name, 'PTR', RECORD_MAPPERS.PTR);
  }
}

/** Wraps a resolver so that one verification run asks each question once. */
export class MemoResolver implements CheckResolver {
  private readonly cache = new Map<string, Promise<LookupResult<unknown>>>();

  constructor(private readonly inner: CheckResolver) {}

  private memo<T>(key: string, fn: () => Promise<LookupResult<T>>): Promise<LookupResult<T>> {
    let p = this.cache.get(key);
    if (!p) {
      p = fn();
      this.cache.set(key, p);
    }
    return p as Promise<LookupResult<T>>;
  }

  txt(name: string) {
    return this.memo(`TXT ${name.toLowerCase()}`, () => this.inner.txt(name));
  }
  a(name: string) {
    return this.memo(`A ${name.toLowerCase()}`, () => this.inner.a(name));
  }
  aaaa(name: string) {
    return this.memo(`AAAA ${name.toLowerCase()}`, () => this.inner.aaaa(name));
  }
  mx(name: string) {
    return this.memo(`MX ${name.toLowerCase()}`, () => this.inner.mx(name));
  }
  ptr(name: string) {
    return this.memo(`PTR ${name.toLowerCase()}`, () => this.inner.ptr(name));
  }
}

