import ipaddr from 'ipaddr.js';

/** A normalised CIDR, or why the text is not one. */
export type CidrResult = { ok: true; cidr: string } | { ok: false; reason: string };

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * The widest network one allowlist entry may name: /8 for IPv4, /32 for IPv6 (a
 * regional registry's allocation). One tenant must not open the relay to the Internet.
 */
export const MIN_PREFIX = { ipv4: 8, ipv6: 32 } as const;

const PREFIX = /^(0|[1-9]\d{0,2})$/;
const DOTTED_TAIL = /(?:^|:)([^:]*\.[^:]*)$/;

/**
 * Parses one address strictly. ipaddr.js also accepts the inet_aton spellings
 * (`127.1`, `0x7f.0.0.1`, `010.0.0.1` as octal), which read differently to different
 * people and tools; an allowlist must mean exactly what it looks like, so IPv4 must be
 * four decimal parts, also as the tail of an IPv6 address.
 */
function parseAddress(text: string): { ok: true; addr: Address } | { ok: false; reason: string } {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return { ok: true, addr: ipaddr.IPv4.parse(text) };
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) {
    return { ok: false, reason: 'must be an IPv4 or IPv6 address (a.b.c.d or x:x::x), optionally with /prefix' };
  }
  const tail = DOTTED_TAIL.exec(text);
  if (tail && !ipaddr.IPv4.isValidFourPartDecimal(tail[1])) {
    return { ok: false, reason: 'the embedded IPv4 address must be four decimal parts' };
  }
  // ipaddr.js reads the deprecated IPv4-compatible form as IPv4-mapped; refuse the ambiguity.
  if (/^::(\d+\.){3}\d+$/.test(text)) {
    return { ok: false, reason: 'IPv4-compatible addresses (::a.b.c.d) are deprecated; write a.b.c.d or ::ffff:a.b.c.d' };
  }
  const addr = ipaddr.IPv6.parse(text);
  if (addr.zoneId) return { ok: false, reason: 'must not carry a zone index (%...)' };
  return { ok: true, addr };
}

/** The network address: `bytes` with every bit past `prefix` cleared. */
function mask(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

/**
 * Normalises an allowlist entry: a CIDR or a bare address (a host: /32 or /128).
 * Host bits are cleared (`192.0.2.7/24` → `192.0.2.0/24`), IPv4-mapped IPv6 networks
 * become their IPv4 form (`::ffff:192.0.2.0/120` → `192.0.2.0/24`), and IPv6 is written
 * lowercase and compressed (RFC 5952), so equal networks compare equal as strings.
 * Networks wider than MIN_PREFIX are refused.
 */
export function normalizeCidr(text: string): CidrResult {
  const raw = text.trim();
  if (raw === '') return { ok: false, reason: 'must not be empty' };
  const slash = raw.indexOf('/');
  const addrText = slash === -1 ? raw : raw.slice(0, slash);
  const parsed = parseAddress(addrText);
  if (!parsed.ok) return parsed;
  const addr = parsed.addr;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = raw.slice(slash + 1);
    if (!PREFIX.test(p) || Number(p) > max) return { ok: false, reason: `the prefix length must be a whole number from 0 to ${max}` };
    prefix = Number(p);
  }
  const network = ipaddr.fromByteArray(mask(addr.toByteArray(), prefix));
  let shown: string;
  let family: 'ipv4' | 'ipv6' = network.kind();
  if (network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    // Relays see IPv4-mapped clients as plain IPv4, so store the IPv4 form.
    shown = (network as ipaddr.IPv6).toIPv4Address().toString();
    prefix -= 96;
    family = 'ipv4';
  } else shown = network.kind() === 'ipv4' ? network.toString() : (network as ipaddr.IPv6).toRFC5952String();
  if (prefix < MIN_PREFIX[family]) {
    return {
      ok: false,
      reason: `the prefix must be /${MIN_PREFIX[family]} or longer for ${family === 'ipv4' ? 'IPv4' : 'IPv6'}; a wider network would let too much of the Internet connect`,
    };
  }
  return { ok: true, cidr: `${shown}/${prefix}` };
}
