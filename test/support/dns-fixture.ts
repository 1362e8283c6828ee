import type { RecordType } from 'dns-packet';
import { TestDnsServer } from './dns-server';

/**
 * Starts one authoritative test server per host, all on one port (DNS_AUTH_PORT is one port
 * for every nameserver), retrying until a port is free on every host.
 */
export async function startNameservers(hosts: string[], zones: string[]): Promise<TestDnsServer[]> {
  for (let i = 0; i < 20; i++) {
    const first = await TestDnsServer.start({ host: hosts[0], zones });
    const started = [first];
    try {
      for (const host of hosts.slice(1)) started.push(await TestDnsServer.start({ host, port: first.port, zones }));
      return started;
    } catch {
      await Promise.all(started.map((s) => s.close()));
    }
  }
  throw new Error(`could not start ${hosts.length} nameservers on one port`);
}

/**
 * A small DNS world: one recursive resolver and two authoritative nameservers
 * (ns1 on 127.0.0.11, ns2 on 127.0.0.12, same port) for the given zones. The resolver
 * knows the delegations (NS + glue) and every record published "everywhere"; each
 * nameserver has its own copy, so one can lag behind the other.
 */
export class DnsFixture {
  private constructor(
    readonly resolver: TestDnsServer,
    readonly ns1: TestDnsServer,
    readonly ns2: TestDnsServer,
    readonly zones: string[],
  ) {}

  static async start(zones: string[]): Promise<DnsFixture> {
    const resolver = await TestDnsServer.start({ host: '127.0.0.1', mode: 'resolver', zones });
    const [ns1, ns2] = await startNameservers(['127.0.0.11', '127.0.0.12'], zones);
    for (const zone of zones) {
      resolver.set(zone, 'NS', [`ns1.${zone}`, `ns2.${zone}`]);
      resolver.set(`ns1.${zone}`, 'A', ['127.0.0.11']);
      resolver.set(`ns2.${zone}`, 'A', ['127.0.0.12']);
    }
    return new DnsFixture(resolver, ns1, ns2, zones);
  }

  get authPort(): number {
    return this.ns1.port;
  }

  get resolverAddress(): string {
    return `127.0.0.1:${this.resolver.port}`;
  }

  /** The environment a container needs to use this world. */
  env(): Record<string, string> {
    return { DNS_RESOLVERS: this.resolverAddress, DNS_AUTH_PORT: String(this.authPort), DNS_TIMEOUT_MS: '300', DNS_ALLOW_PRIVATE: 'true' };
  }

  /**
   * The usual DNS world of a lifecycle test: `example.test` and `mw.test`, with our SPF include
   * `include` (in mw.test) authorising 192.0.2.0/24.
   */
  static async withInclude(include: string): Promise<DnsFixture> {
    const dns = await DnsFixture.start(['example.test', 'mw.test']);
    dns.publish(include, 'TXT', ['v=spf1 ip4:192.0.2.0/24 -all']);
    return dns;
  }

  /** env(), with SPF_INCLUDE_DOMAIN and a lifecycle that moves in milliseconds: a first check within 200 ms, sweeps every 150 ms. */
  fastLifecycleEnv(include: string): Record<string, string> {
    return { ...this.env(), SPF_INCLUDE_DOMAIN: include, PROPAGATION_SCHEDULE: '200ms', SWEEP_INTERVAL_MS: '150' };
  }

  /** Publishes on the given servers (default: both nameservers and the resolver). */
  publish(name: string, type: RecordType, data: unknown[], on: TestDnsServer[] = [this.ns1, this.ns2, this.resolver]): void {
    for (const s of on) s.set(name, type, data);
  }

  unpublish(name: string, type: RecordType, on: TestDnsServer[] = [this.ns1, this.ns2, this.resolver]): void {
    for (const s of on) s.remove(name, type);
  }

  resetFaults(): void {
    for (const s of [this.resolver, this.ns1, this.ns2]) s.faults = {};
  }

  async close(): Promise<void> {
    await Promise.all([this.resolver.close(), this.ns1.close(), this.ns2.close()]);
  }
}
