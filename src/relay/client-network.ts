import ipaddr from 'ipaddr.js';

/**
 * The network a client address counts against for AUTH lockout: an IPv4 address on its
 * own, an IPv6 address by its /64. One IPv6 host usually holds a whole /64 (SLAAC,
 * privacy addresses, a delegated prefix), so counting single IPv6 addresses would give
 * one attacker 2^64 fresh counters. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a
 * dual-stack socket reports an IPv4 client) counts as its IPv4 address.
 *
 * Never throws: an address it cannot read is its own network.
 */
export function clientNetwork(ip: string): string {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip.split('%')[0]);
  } catch {
    return ip;
  }
  if (addr.kind() === 'ipv4') return addr.toString();
  const network = [...addr.toByteArray().slice(0, 8), 0, 0, 0, 0, 0, 0, 0, 0];
  return `${ipaddr.fromByteArray(network).toString()}/64`;
}
