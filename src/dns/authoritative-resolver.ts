import type { RecordType } from 'dns-packet';
import type { CheckResolver, LookupResult, MxRecord } from './resolver';
import { canonicalName, danglingCname, type DnsClient, type DnsServer } from './dns-client';
import { RECORD_MAPPERS, toLookup } from './lookup';

export const inZone = (name: string, zone: string) => {
  const n = canonicalName(name);
  return n === zone || n.endsWith(`.${zone}`);
};

/**
 * A resolver bound to one authoritative nameserver address: names inside its zone are
 * asked of that server directly (RD off, AA required); names in other zones (an SPF
 * include elsewhere) go through the recursive resolvers.
 */
export class AuthoritativeResolver implements CheckResolver {
  constructor(
    private readonly client: DnsClient,
    private readonly server: DnsServer,
    private readonly zone: string,
    private readonly outside: CheckResolver,
    /** `tcp` asks this server over TCP only (a confirming check); `udp` falls back to TCP on truncation. */
    private readonly transport: 'udp' | 'tcp' = 'udp',
  ) {}

  private async lookup<T>(
    name: string,
    type: RecordType,
    map: (a: never) => T,
    viaOutside: (n: string) => Promise<LookupResult<T>>,
  ): Promise<LookupResult<T>> {
    if (!inZone(name, this.zone)) return viaOutside(name);
    const outcome = await this.client.query(name, type, this.server, {
      recursionDesired: false,
      expectAuthoritative: true,
      transport: this.transport,
    });
    // A CNAME to another zone: this server has said all it can; the target is answered elsewhere.
    if (outcome.kind === 'nodata') {
      const target = danglingCname(outcome.packet.answers ?? [], canonicalName(name));
      if (target && !inZone(target, this.zone)) return viaOutside(target);
    }
    return toLookup(outcome, map as never);
  }

  txt(name: string): Promise<LookupResult<string[]>> {
    return this.lookup(name, 'TXT', RECORD_MAPPERS.TXT, (n) => this.outside.txt(n));
  }
  a(name: string): Promise<LookupResult<string>> {
    return this.lookup(name, 'A', RECORD_MAPPERS.A, (n) => this.outside.a(n));
  }
  aaaa(name: string): Promise<LookupResult<string>> {
    return this.lookup(name, 'AAAA', RECORD_MAPPERS.AAAA, (n) => this.outside.aaaa(n));
  }
  mx(name: string): Promise<LookupResult<MxRecord>> {
    return this.lookup(name, 'MX', RECORD_MAPPERS.MX, (n) => this.outside.mx(n));
  }
  ptr(name: string): Promise<LookupResult<string>> {
    return this.lookup(name, 'PTR', RECORD_MAPPERS.PTR, (n) => this.outside.ptr(n));
  }
  /** The CNAME at `name` itself (a diagnosis asks, for names inside the zone only). */
  cname(name: string): Promise<LookupResult<string>> {
    const outside: LookupResult<string> = { kind: 'error', failure: 'refused', detail: `${name} is outside the zone ${this.zone}` };
    return this.lookup(name, 'CNAME', RECORD_MAPPERS.CNAME, () => Promise.resolve(outside));
  }
}
