/** Pure IPv4/IPv6 parsing, CIDR matching and reverse-name formatting for the SPF evaluator. */
import { isIP } from 'node:net';

export interface IpAddress {
  version: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  bytes: number[];
}

// RFC 7208 §5.6 qnum: decimal 0-255 without leading zeros.
const QNUM = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const IPV4 = new RegExp(`^${QNUM}\\.${QNUM}\\.${QNUM}\\.${QNUM}$`);

/** Parses a dotted-quad IPv4 address strictly (no leading zeros, no shorthand); null when invalid. */
export function parseIpv4(text: string): IpAddress | null {
  if (!IPV4.test(text)) return null;
  return { version: 4, bytes: text.split('.').map(Number) };
}

/** Parses an IPv6 address (including an embedded IPv4 tail); null when invalid or zoned. */
export function parseIpv6(text: string): IpAddress | null {
  if (text.includes('%') || isIP(text) !== 6) return null;
  let hexOnly = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // Rewrite an embedded IPv4 tail as two hex groups so one parser handles both forms.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return null;
    const [a, b, c, d] = v4.bytes;
    hexOnly = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = hexOnly.includes('::') ? hexOnly.split('::') : [hexOnly, undefined];
  const parseGroups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const leftGroups = parseGroups(left);
  const rightGroups = right === undefined ? [] : parseGroups(right);
  const fill = right === undefined ? 0 : 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...new Array<number>(Math.max(0, fill)).fill(0), ...rightGroups];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  return { version: 6, bytes };
}

/**
 * Parses a client address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * treated as the IPv4 address it carries, since that is the host that connected.
 */
export function parseIp(text: string): IpAddress | null {
  const v4 = parseIpv4(text);
  if (v4) return v4;
  const v6 = parseIpv6(text);
  if (!v6) return null;
  const mapped = v6.bytes.slice(0, 10).every((b) => b === 0) && v6.bytes[10] === 0xff && v6.bytes[11] === 0xff;
  return mapped ? { version: 4, bytes: v6.bytes.slice(12) } : v6;
}

/** True when `ip` lies inside `network`/`prefix`; addresses of different versions never match. */
export function inCidr(ip: IpAddress, network: IpAddress, prefix: number): boolean {
  if (ip.version !== network.version) return false;
  let remaining = prefix;
  for (let i = 0; i < ip.bytes.length && remaining > 0; i++) {
    const bits = Math.min(8, remaining);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((ip.bytes[i] & mask) !== (network.bytes[i] & mask)) return false;
    remaining -= bits;
  }
  return true;
}

/** The address's nibbles (IPv6) or octets (IPv4) as dot-separated labels, most significant first. */
export function ipLabels(ip: IpAddress): string[] {
  if (ip.version === 4) return ip.bytes.map(String);
  return ip.bytes.flatMap((b) => [(b >> 4).toString(16), (b & 0xf).toString(16)]);
}

/** The reverse-lookup name of an address: 3.2.0.192.in-addr.arpa or the ip6.arpa nibble form. */
export function reverseName(ip: IpAddress): string {
  const suffix = ip.version === 4 ? 'in-addr.arpa' : 'ip6.arpa';
  return [...ipLabels(ip).reverse(), suffix].join('.');
}

/** The conventional text form: dotted quad, or RFC 5952 compressed lowercase IPv6. */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return ip.bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i] << 8) | ip.bytes[i + 1]);
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
