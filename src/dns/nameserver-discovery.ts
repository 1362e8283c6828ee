import type { Answer } from 'dns-packet';
import type { Clock } from '../clock';
import { canonicalName, type DnsOutcome } from './dns-client';
import type { RecursiveResolver } from './recursive-resolver';

/** One authoritative nameserver address to query directly. */
export interface Nameserver {
  host: string;
  ip: string;
}

export type DiscoveryResult =
  | { kind: 'found'; zone: string; nameservers: Nameserver[] }
  /** Nothing definitive could be learned (resolver timeouts, SERVFAIL): a temperror. */
  | { kind: 'error'; reason: string };

interface CacheEntry {
  value: { zone: string; nameservers: Nameserver[] };
  expiresAt: number;
}

const MIN_TTL_S = 30;
const MAX_TTL_S = 3600;
const MAX_ENTRIES = 50_000;

const ttlOf = (answers: Answer[]) => Math.min(...answers.map((a) => (a as { ttl?: number }).ttl ?? 300));
const dataOf = (a: Answer) => (a as { data: unknown }).data;

/**
 * Finds the zone that holds a domain and that zone's authoritative nameservers and
 * addresses, through the recursive resolvers. NS sets are cached for their TTL.
 */
export class NameserverDiscovery {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly resolver: RecursiveResolver,
    private readonly clock: Clock,
  ) {}

  /** The zone cut for `domain`: SOA at the name itself, else the SOA owner in the authority section, else walk up. */
  async findZone(domain: string): Promise<{ zone: string } | { error: string }> {
    let name = canonicalName(domain);
    for (;;) {
      const out = await this.resolver.raw(name, 'SOA');
      if (out.kind === 'answer') {
        const soa = out.records.find((r) => r.type === 'SOA');
        if (soa && canonicalName(soa.name) === name) return { zone: name };
      }
      if (out.kind === 'nxdomain' || out.kind === 'nodata' || out.kind === 'answer') {
        const auth = (out.packet.authorities ?? []).find((r) => r.type === 'SOA');
        if (auth && (name === canonicalName(auth.name) || name.endsWith(`.${canonicalName(auth.name)}`))) {
          return { zone: canonicalName(auth.name) };
        }
      } else {
        return { error: `resolver: ${describe(out)} looking up SOA ${name}` };
      }
      const dot = name.indexOf('.');
      if (dot < 0) return { error: `no zone found for ${domain}` };
      name = name.slice(dot + 1);
    }
  }

  /** The authoritative nameservers of the zone holding `domain`. */
  async discover(domain: string): Promise<DiscoveryResult> {
    const zoneResult = await this.findZone(domain);
    if ('error' in zoneResult) return { kind: 'error', reason: zoneResult.error };
    const zone = zoneResult.zone;
    const now = this.clock.now().getTime();
    const hit = this.cache.get(zone);
    if (hit && hit.expiresAt > now) return { kind: 'found', ...hit.value };

    const ns = await this.resolver.raw(zone, 'NS');
    if (ns.kind !== 'answer') return { kind: 'error', reason: `resolver: ${describe(ns)} looking up NS ${zone}` };
    const hosts = [...new Set(ns.records.filter((r) => r.type === 'NS').map((r) => canonicalName(String(dataOf(r)))))];
    const glue = ns.packet.additionals ?? [];
    const nameservers: Nameserver[] = [];
    let minTtl = ttlOf(ns.records);
    for (const host of hosts) {
      const glued = glue.filter((g) => (g.type === 'A' || g.type === 'AAAA') && canonicalName(g.name) === host);
      if (glued.length) {
        for (const g of glued) nameservers.push({ host, ip: String(dataOf(g)) });
        minTtl = Math.min(minTtl, ttlOf(glued));
        continue;
      }
      for (const type of ['A', 'AAAA'] as const) {
        const addr = await this.resolver.raw(host, type);
        if (addr.kind === 'answer') {
          for (const r of addr.records) nameservers.push({ host, ip: String(dataOf(r)) });
          minTtl = Math.min(minTtl, ttlOf(addr.records));
        }
      }
    }
    if (nameservers.length === 0) return { kind: 'error', reason: `no address found for the nameservers of ${zone} (${hosts.join(', ')})` };
    const value = { zone, nameservers };
    const ttl = Math.max(MIN_TTL_S, Math.min(MAX_TTL_S, minTtl));
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(zone, { value, expiresAt: now + ttl * 1000 });
    return { kind: 'found', ...value };
  }
}

function describe(o: DnsOutcome): string {
  return o.kind === 'network-error' ? `network error (${o.detail})` : o.kind;
}
