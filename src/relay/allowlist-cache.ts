import { MIN_PREFIX } from '../allowed-ips/cidr';
import { PACKED_STRIDE, packedContains, packedHead, parseClientAddress, parseNetworkInto } from '../allowed-ips/network';
import { PrefixTrie } from '../allowed-ips/prefix-trie';

/** Why a stored entry was left out of the cache. */
export type IgnoredEntry = { domainId: string; cidr: string; reason: string };

export interface AllowlistCacheOptions {
  /** Told about stored entries that are not used (unparseable, or wider than MIN_PREFIX allows). */
  onIgnored?: (entry: IgnoredEntry) => void;
  /** Domains applied between two yields to the event loop during a full refresh (500: a few ms). */
  batchSize?: number;
}

/**
 * Every domain configuration's allowed client networks, held in process for the
 * connect-time check (DESIGN §5: default deny).
 *
 * Each stored CIDR is parsed once, when its domain is loaded: into the domain's own
 * packed list (for "does this domain allow the address", asked at AUTH) and into a
 * prefix trie per family shared by all domains (for "does any domain allow it", asked
 * at connect), where each network counts its owners. Reloading a domain replaces only
 * that domain's networks.
 *
 * Loads race: a full refresh may read a list that an invalidation has since changed.
 * Every load takes a sequence number when it starts, every invalidation does too, and a
 * load applies a domain only when nothing newer has touched it (an invalidation, or a
 * load that started later and already applied), so a removed network cannot come back.
 */
export class AllowlistCache {
  private readonly byDomain = new Map<string, Uint32Array>();
  private readonly v4 = new PrefixTrie(1);
  private readonly v6 = new PrefixTrie(4);
  private loaded = false;
  private seq = 0;
  private inFlight = 0;
  /** Per domain, the newest sequence number that touched it; kept only while loads are in flight. */
  private readonly touched = new Map<string, number>();
  private newestRefresh = 0;

  constructor(
    private readonly loadAll: () => Promise<Array<{ domainId: string; cidrs: string[] }>>,
    private readonly loadOne: (domainId: string) => Promise<string[] | null>,
    private readonly options: AllowlistCacheOptions = {},
  ) {}

  get ready(): boolean {
    return this.loaded;
  }

  /** Domains with at least one network, and distinct networks per family. */
  get stats(): { domains: number; v4: number; v6: number; trieBytes: number } {
    return { domains: this.byDomain.size, v4: this.v4.size, v6: this.v6.size, trieBytes: this.v4.bytes + this.v6.bytes };
  }

  /**
   * Loads every domain's list and applies what changed, yielding to the event loop
   * between batches. A refresh overtaken by a newer one stops applying.
   */
  async refresh(): Promise<void> {
    const s = this.begin();
    // Ignored entries are reported on the first load and when their domain is reloaded, not every refresh.
    const report = !this.loaded;
    try {
      const all = await this.loadAll();
      if (s < this.newestRefresh) return;
      this.newestRefresh = s;
      const seen = new Set<string>();
      const batch = this.options.batchSize ?? 500;
      for (let i = 0; i < all.length; i++) {
        seen.add(all[i].domainId);
        this.applyIfCurrent(all[i].domainId, all[i].cidrs, s, report);
        if ((i + 1) % batch === 0) {
          await new Promise((resolve) => setImmediate(resolve));
          if (s < this.newestRefresh) return;
        }
      }
      for (const domainId of [...this.byDomain.keys()]) if (!seen.has(domainId)) this.applyIfCurrent(domainId, [], s, report);
      this.loaded = true;
    } finally {
      this.end();
    }
  }

  /** Reloads one domain's list (after an invalidation); older loads in flight no longer apply to it. */
  async reload(domainId: string): Promise<void> {
    const s = this.begin();
    this.touched.set(domainId, s);
    try {
      const cidrs = await this.loadOne(domainId);
      this.applyIfCurrent(domainId, cidrs ?? [], s, true);
    } finally {
      this.end();
    }
  }

  /** True when some configuration allows the address (the connect-time check). */
  anyAllows(ip: string): boolean {
    const addr = parseClientAddress(ip);
    if (!addr) return false;
    return (addr.v6 ? this.v6 : this.v4).contains(addr.words);
  }

  /** True when this domain's configuration allows the address (asked at AUTH). */
  domainAllows(domainId: string, ip: string): boolean {
    const packed = this.byDomain.get(domainId);
    const addr = packed ? parseClientAddress(ip) : null;
    return Boolean(packed && addr && packedContains(packed, addr));
  }

  private begin(): number {
    this.inFlight++;
    return ++this.seq;
  }

  private end(): void {
    // With no load in flight, no load can start with an older number: forget the marks.
    if (--this.inFlight === 0) this.touched.clear();
  }

  private applyIfCurrent(domainId: string, cidrs: string[], s: number, report: boolean): void {
    if ((this.touched.get(domainId) ?? 0) > s) return;
    if (this.inFlight > 1) this.touched.set(domainId, s);
    this.apply(domainId, cidrs, report);
  }

  private apply(domainId: string, cidrs: string[], report: boolean): void {
    let packed = new Uint32Array(cidrs.length * PACKED_STRIDE);
    let kept = 0;
    for (const cidr of cidrs) {
      let reason: string | null = null;
      if (!parseNetworkInto(cidr, packed, kept * PACKED_STRIDE)) reason = 'not a CIDR';
      else {
        const { v6, prefix } = packedHead(packed, kept);
        if (prefix < MIN_PREFIX[v6 ? 'ipv6' : 'ipv4']) reason = 'wider than the allowed scope';
      }
      if (!reason) kept++;
      else if (report) this.options.onIgnored?.({ domainId, cidr, reason });
    }
    if (kept < cidrs.length) packed = packed.slice(0, kept * PACKED_STRIDE);
    const old = this.byDomain.get(domainId);
    if (old ? sameWords(old, packed) : packed.length === 0) return;
    // Add before removing, so networks the domain keeps are not released and rebuilt.
    this.each(packed, (trie, offset, prefix) => trie.add(packed, offset, prefix));
    if (old) this.each(old, (trie, offset, prefix) => trie.remove(old, offset, prefix));
    if (packed.length) this.byDomain.set(domainId, packed);
    else this.byDomain.delete(domainId);
  }

  private each(packed: Uint32Array, fn: (trie: PrefixTrie, offset: number, prefix: number) => void): void {
    for (let i = 0; i * PACKED_STRIDE < packed.length; i++) {
      const { v6, prefix, offset } = packedHead(packed, i);
      fn(v6 ? this.v6 : this.v4, offset, prefix);
    }
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
