import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses are public unicast: the one classification shared by everything that
 * connects to an address someone else chose (webhook URLs, authoritative nameservers).
 */

/** An address's class: public unicast, or the kind of range that makes it not public. */
export type AddressClass = { public: true } | { public: false; range: string };

// ipaddr.js range names, as a reason reads them.
const RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private',
  reserved: 'reserved',
  uniqueLocal: 'unique local (fc00::/7)',
  deprecatedSiteLocal: 'site-local (deprecated)',
  discard: 'discard-only (100::/64)',
  rfc6145: 'IPv4-translated (::ffff:0:0/96)',
  rfc6052: 'NAT64 (64:ff9b::/96)',
  '6to4': '6to4 (2002::/16)',
  teredo: 'Teredo (2001::/32)',
  benchmarking: 'benchmarking',
};

const words = (range: string) => RANGE_WORDS[range] ?? `special-purpose (${range})`;

/** The IPv4 address a 6to4 or Teredo address carries, to name it in a reason. */
function wrappedIpv4(v6: ipaddr.IPv6, range: string): string | null {
  const p = v6.parts;
  if (range === '6to4') return new ipaddr.IPv4([p[1] >> 8, p[1] & 0xff, p[2] >> 8, p[2] & 0xff]).toString();
  // RFC 4380 §4: the client's address is the last 32 bits, inverted.
  if (range === 'teredo') return new ipaddr.IPv4([(~p[6] >> 8) & 0xff, ~p[6] & 0xff, (~p[7] >> 8) & 0xff, ~p[7] & 0xff]).toString();
  return null;
}

/** Parses strictly: an IPv6 dotted tail is rewritten as hex, because ipaddr.js reads `::a.b.c.d` as `::ffff:a.b.c.d`. */
function parse(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const family = isIP(text);
  if (family === 4) return ipaddr.IPv4.parse(text);
  if (family !== 6 || text.includes('%')) return null;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (!tail.includes('.')) return ipaddr.IPv6.parse(text);
  const [a, b, c, d] = tail.split('.').map(Number);
  return ipaddr.IPv6.parse(`${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
}

function classifyIpv4(v4: ipaddr.IPv4): AddressClass {
  const range = v4.range();
  return range === 'unicast' ? { public: true } : { public: false, range: words(range) };
}

/**
 * Classifies an address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 address
 * it carries; IPv4-compatible IPv6 (`::a.b.c.d`, deprecated by RFC 4291) is never public,
 * and neither are 6to4, Teredo, NAT64 or any other special-purpose range.
 */
export function classifyAddress(ip: string): AddressClass {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  let addr: ipaddr.IPv4 | ipaddr.IPv6 | null;
  try {
    addr = parse(bare);
  } catch {
    addr = null;
  }
  if (!addr) return { public: false, range: 'not an IP address' };
  if (addr.kind() === 'ipv4') return classifyIpv4(addr as ipaddr.IPv4);
  const v6 = addr as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) {
    const inner = classifyIpv4(v6.toIPv4Address());
    return inner.public ? inner : { public: false, range: `IPv4-mapped ${inner.range}` };
  }
  const range = v6.range();
  // ::/96 other than :: and ::1: the deprecated IPv4-compatible form, which some stacks still route as IPv4.
  if (range === 'unicast' && v6.parts.slice(0, 6).every((x) => x === 0)) {
    const p = v6.parts;
    const inner = new ipaddr.IPv4([p[6] >> 8, p[6] & 0xff, p[7] >> 8, p[7] & 0xff]).toString();
    return { public: false, range: `IPv4-compatible (deprecated; carries ${inner})` };
  }
  if (range === 'unicast') return { public: true };
  const wrapped = wrappedIpv4(v6, range);
  return { public: false, range: wrapped ? `${words(range)}, carrying ${wrapped}` : words(range) };
}

/** True only for globally routable unicast addresses (see classifyAddress). */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip).public;
}
