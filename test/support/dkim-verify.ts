import { Resolver } from 'node:dns/promises';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import type { DnsFixture } from './dns-fixture';

/** One DKIM signature of a message as a receiver sees it. */
export interface DkimVerdict {
  selector: string;
  signingDomain: string;
  result: string;
}

/** Verifies every DKIM signature of `raw` with mailauth against the keys the test DNS world serves now. */
export async function verifyDkim(dns: DnsFixture, raw: Buffer): Promise<DkimVerdict[]> {
  const resolver = new Resolver();
  resolver.setServers([dns.resolverAddress]);
  const lookup = (name: string, rr: string) => (rr === 'TXT' ? resolver.resolveTxt(name) : resolver.resolve(name, rr as never));
  const { results } = await dkimVerify(raw, { resolver: lookup } as never);
  return results.map((r: any) => ({ selector: r.selector, signingDomain: r.signingDomain, result: r.status.result }));
}
