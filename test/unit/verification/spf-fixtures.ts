/** Shared SPF test helpers: run check_host() over a zone, and zones of harmless hosts. */
import { checkHost, type SpfOptions, type SpfOutcome } from '../../../src/verification/spf-eval';
import { FakeResolver, type Zone } from './fake-resolver';

/** check_host() for `ip` against `domain` in the zone, with a fixed HELO. */
export async function check(zone: Zone, ip: string, domain = 'example.com', sender = 'user@example.com', options: SpfOptions = {}): Promise<SpfOutcome> {
  return checkHost(new FakeResolver(zone), { ip, domain, sender, helo: 'mx.example.net' }, options);
}

/** `count` hosts a1.hosts.test … that exist but never hold the client ip. */
export function hosts(count: number, prefix = 'a'): Zone {
  const zone: Zone = {};
  for (let i = 1; i <= count; i++) zone[`${prefix}${i}.hosts.test`] = { a: [`198.51.100.${i}`] };
  return zone;
}

/** `count` "a:" terms naming the hosts of hosts(count, prefix). */
export const terms = (count: number, prefix = 'a'): string =>
  Array.from({ length: count }, (_, i) => `a:${prefix}${i + 1}.hosts.test`).join(' ');
