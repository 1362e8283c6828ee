import { ipInCidrs } from '../allowed-ips/cidr';

/**
 * Every domain configuration's allowed client networks, held in process for the
 * connect-time check (DESIGN §5: default deny). Reloaded whole on start and
 * periodically; one domain is reloaded when its list changes.
 */
export class AllowlistCache {
  private readonly byDomain = new Map<string, string[]>();
  private loaded = false;

  constructor(
    private readonly loadAll: () => Promise<Array<{ domainId: string; cidrs: string[] }>>,
    private readonly loadOne: (domainId: string) => Promise<string[] | null>,
  ) {}

  get ready(): boolean {
    return this.loaded;
  }

  async refresh(): Promise<void> {
    const all = await this.loadAll();
    this.byDomain.clear();
    for (const { domainId, cidrs } of all) if (cidrs.length) this.byDomain.set(domainId, cidrs);
    this.loaded = true;
  }

  async reload(domainId: string): Promise<void> {
    const cidrs = await this.loadOne(domainId);
    if (cidrs && cidrs.length) this.byDomain.set(domainId, cidrs);
    else this.byDomain.delete(domainId);
  }

  /** True when some configuration allows the address. */
  anyAllows(ip: string): boolean {
    for (const cidrs of this.byDomain.values()) if (ipInCidrs(ip, cidrs)) return true;
    return false;
  }

  /** True when this domain's configuration allows the address. */
  domainAllows(domainId: string, ip: string): boolean {
    const cidrs = this.byDomain.get(domainId);
    return Boolean(cidrs && ipInCidrs(ip, cidrs));
  }
}
