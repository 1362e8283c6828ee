import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import type { Clock } from '../clock';
import { describeFailure } from '../dns/lookup';
import type { CheckResolver, LookupResult } from '../dns/resolver';

/** One host to try, in preference order. Without addresses, mx-connect resolves them. */
export interface MxHost {
  exchange: string;
  priority: number;
  A?: string[];
  AAAA?: string[];
}

/** Where the mail of one recipient domain goes (RFC 5321 §5.1, RFC 7505). */
export type MxRoute =
  /** `implicit`: the domain has no MX, its own A/AAAA stand in (RFC 5321 §5.1). */
  | { kind: 'hosts'; hosts: MxHost[]; implicit: boolean }
  /** The domain publishes `MX 0 .`: it accepts no mail. Permanent. */
  | { kind: 'null-mx' }
  /** NXDOMAIN, or neither MX nor A/AAAA: nowhere to deliver. Permanent. */
  | { kind: 'no-host'; detail: string }
  /** A lookup failed (timeout, SERVFAIL, …): nothing definitive. */
  | { kind: 'temporary'; detail: string };

export interface MxRoutesOptions {
  /** How long a definitive answer is reused (0: never). Temporary failures are never kept. */
  cacheMs: number;
  /** Leaves AAAA out of the implicit-MX fallback. */
  ignoreIPv6?: boolean;
}

/**
 * Finds the MX hosts of a recipient domain through the configured resolvers (DNS_RESOLVERS),
 * sorted by preference, with equal preferences shuffled (RFC 5321 §5.1). Concurrent lookups
 * of one domain share one query.
 */
export class MxRoutes {
  private readonly cache = new Map<string, { route: MxRoute; until: number }>();
  private readonly inflight = new Map<string, Promise<MxRoute>>();

  constructor(
    private readonly resolver: CheckResolver,
    private readonly clock: Clock,
    private readonly options: MxRoutesOptions,
  ) {}

  /** The route of `domain` (lowercase; IDNs are looked up in their A-label form). */
  async resolve(domain: string): Promise<MxRoute> {
    const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain)?.[1];
    if (literal) {
      if (!isIP(literal)) return { kind: 'no-host', detail: `${domain} is not an IP address literal` };
      return { kind: 'hosts', hosts: [{ exchange: literal, priority: 0 }], implicit: true };
    }
    const name = domainToASCII(domain);
    if (!name) return { kind: 'no-host', detail: `${domain} is not a valid domain name` };
    const now = this.clock.now().getTime();
    const hit = this.cache.get(name);
    if (hit && hit.until > now) return hit.route;
    let pending = this.inflight.get(name);
    if (!pending) {
      pending = this.lookup(name).finally(() => this.inflight.delete(name));
      this.inflight.set(name, pending);
    }
    const route = await pending;
    if (route.kind !== 'temporary' && this.options.cacheMs > 0) this.cache.set(name, { route, until: now + this.options.cacheMs });
    return route;
  }

  private async lookup(domain: string): Promise<MxRoute> {
    const mx = await this.resolver.mx(domain);
    if (mx.kind === 'answer') {
      // RFC 7505 §3: a null MX is the domain's only MX; one mixed with real hosts is ignored.
      const hosts = mx.records.filter((r) => r.exchange !== '' && r.exchange !== '.');
      if (hosts.length === 0) return { kind: 'null-mx' };
      return { kind: 'hosts', hosts: byPreference(hosts.map((r) => ({ exchange: r.exchange, priority: r.preference }))), implicit: false };
    }
    if (mx.kind === 'nxdomain') return { kind: 'no-host', detail: `${domain} does not exist (NXDOMAIN)` };
    if (mx.kind === 'error') return { kind: 'temporary', detail: `MX lookup for ${domain} failed: ${describeFailure(mx)}` };
    // No MX: the domain itself is the implicit MX when it has an address (RFC 5321 §5.1).
    const [a, aaaa] = await Promise.all([
      this.resolver.a(domain),
      this.options.ignoreIPv6 ? Promise.resolve<LookupResult<string>>({ kind: 'nodata' }) : this.resolver.aaaa(domain),
    ]);
    const A = a.kind === 'answer' ? a.records : [];
    const AAAA = aaaa.kind === 'answer' ? aaaa.records : [];
    if (A.length || AAAA.length) return { kind: 'hosts', hosts: [{ exchange: domain, priority: 0, A, AAAA }], implicit: true };
    const failed = [a, aaaa].find((r) => r.kind === 'error');
    if (failed) return { kind: 'temporary', detail: `address lookup for ${domain} (no MX) failed: ${describeFailure(failed)}` };
    return { kind: 'no-host', detail: `${domain} has no MX and no A/AAAA record` };
  }
}

function byPreference(hosts: MxHost[]): MxHost[] {
  // Fisher-Yates first, then a stable sort: equal preferences end up in random order.
  const out = [...hosts];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.sort((x, y) => x.priority - y.priority);
}

/** A DNS error in the shape node's resolver (and so mx-connect and mailauth) reports it. */
function dnsError(name: string, r: Exclude<LookupResult<unknown>, { kind: 'answer' }>): Error & { code: string } {
  const code = r.kind === 'nxdomain' ? 'ENOTFOUND' : r.kind === 'nodata' ? 'ENODATA' : r.failure === 'timeout' ? 'ETIMEOUT' : 'ESERVFAIL';
  return Object.assign(new Error(`${code} ${name}: ${describeFailure(r)}`), { code });
}

/**
 * The resolver as a promise of node `dns.resolve` results (`A` when no type is given), with
 * node's error codes: for mailauth's MTA-STS TXT lookup and, callback-style, mx-connect's
 * `dnsOptions.resolve` hook.
 */
export function nodeStyleResolve(resolver: CheckResolver): (name: string, type?: string) => Promise<unknown[]> {
  return async (name, type = 'A') => {
    const r =
      type === 'MX' ? await resolver.mx(name)
      : type === 'TXT' ? await resolver.txt(name)
      : type === 'AAAA' ? await resolver.aaaa(name)
      : type === 'A' ? await resolver.a(name)
      : null;
    if (!r) throw Object.assign(new Error(`record type ${type} is not supported`), { code: 'ENOTIMP' });
    if (r.kind !== 'answer') throw dnsError(name, r);
    if (type === 'MX') return (r.records as Array<{ exchange: string; preference: number }>).map((m) => ({ exchange: m.exchange, priority: m.preference }));
    return r.records;
  };
}

type NodeCallback = (err: Error | null, records?: unknown[]) => void;

/** `nodeStyleResolve` with node's callback signature: `(name, cb)` or `(name, type, cb)`. */
export function callbackResolve(resolver: CheckResolver): (name: string, typeOrCb: string | NodeCallback, cb?: NodeCallback) => void {
  const resolve = nodeStyleResolve(resolver);
  return (name, typeOrCb, cb) => {
    const [type, done] = typeof typeOrCb === 'function' ? [undefined, typeOrCb] : [typeOrCb, cb as NodeCallback];
    resolve(name, type).then(
      (records) => done(null, records),
      (err: Error) => done(err),
    );
  };
}
