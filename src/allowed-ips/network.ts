/**
 * Addresses and networks as 32-bit words, for the relay's allowlist lookups. Parsing
 * here is for text that is already an address: a socket's `remoteAddress`, or a CIDR
 * that normalizeCidr wrote. It works on character codes without allocating, since a
 * relay parses every stored CIDR at load (a million of them at scale). Anything that
 * does not parse matches nothing.
 */

/** IPv4 is one word, IPv6 four, most significant first. */
export interface Address {
  v6: boolean;
  words: number[];
}

/** A network: an address with every bit past `prefix` cleared. */
export interface Network extends Address {
  prefix: number;
}

/** Words per network in a packed list: a head (family and prefix), then four address words. */
export const PACKED_STRIDE = 5;

/** `a.b.c.d` (text[start, end)) with four decimal parts of 0..255, no leading zeros, as one unsigned word. */
export function parseIpv4(text: string, start = 0, end = text.length): number | null {
  let word = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= end; i++) {
    const ch = i < end ? text.charCodeAt(i) : 46; // a final '.' closes the last part
    if (ch >= 48 && ch <= 57) {
      if (digits > 0 && part === 0) return null; // a leading zero
      part = part * 10 + (ch - 48);
      if (++digits > 3 || part > 255) return null;
    } else if (ch === 46) {
      if (digits === 0 || ++parts > 4) return null;
      word = word * 256 + part;
      part = 0;
      digits = 0;
    } else return null;
  }
  return parts === 4 ? word : null;
}

function hexValue(ch: number): number {
  if (ch >= 48 && ch <= 57) return ch - 48;
  if (ch >= 97 && ch <= 102) return ch - 87;
  if (ch >= 65 && ch <= 70) return ch - 55;
  return -1;
}

const groups = new Uint16Array(8);

/**
 * An IPv6 address (text[0, end)) as four words written to out[off…off+3]; false when
 * it is not one. RFC 4291 §2.2 text forms: hex groups, one `::`, a dotted IPv4 tail.
 */
export function parseIpv6Into(text: string, end: number, out: { [i: number]: number }, off: number): boolean {
  let n = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    const start = i;
    let value = 0;
    let digits = 0;
    for (let h = i < end ? hexValue(text.charCodeAt(i)) : -1; h >= 0; h = i < end ? hexValue(text.charCodeAt(i)) : -1) {
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 46) {
      const v4 = n <= 6 ? parseIpv4(text, start, end) : null;
      if (v4 === null) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4 || n === 8) return false;
    groups[n++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap !== -1) return false;
      gap = n;
      i++;
    } else if (i === end) return false; // a lone trailing ':'
  }
  if (gap === -1 ? n !== 8 : n > 7) return false;
  const missing = 8 - n;
  for (let g = 7; g >= 0; g--) {
    const value = gap === -1 || g < gap ? groups[g] : g < gap + missing ? 0 : groups[g - missing];
    if (g % 2) out[off + (g >> 1)] = value;
    else out[off + (g >> 1)] = ((value << 16) | out[off + (g >> 1)]) >>> 0;
  }
  return true;
}

/** An IPv6 address (a zone index `%…` is ignored) as four words. */
export function parseIpv6(text: string): number[] | null {
  const words = [0, 0, 0, 0];
  const pct = text.indexOf('%');
  return parseIpv6Into(text, pct === -1 ? text.length : pct, words, 0) ? words : null;
}

/**
 * A client address as the relay sees it. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, as dual-stack sockets report IPv4 peers) is IPv4.
 */
export function parseClientAddress(text: string): Address | null {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 === null ? null : { v6: false, words: [v4] };
  }
  const words = parseIpv6(text);
  if (!words) return null;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return { v6: false, words: [words[3]] };
  return { v6: true, words };
}

/** Word `w` with only its first `keep` bits (0 when keep <= 0, all when keep >= 32). */
export function maskWord(w: number, keep: number): number {
  return keep <= 0 ? 0 : keep >= 32 ? w >>> 0 : (w & (~0 << (32 - keep))) >>> 0;
}

/**
 * Writes a CIDR as normalizeCidr writes it (`192.0.2.0/24`, `2001:db8::/32`; a bare
 * address is a host) into out[off…off+PACKED_STRIDE-1] as a packed network, host bits
 * cleared. An IPv4-mapped network of /96 or longer is written as IPv4. False when the
 * text is not a CIDR.
 */
export function parseNetworkInto(text: string, out: Uint32Array, off: number): boolean {
  const slash = text.indexOf('/');
  const addrEnd = slash === -1 ? text.length : slash;
  let v6 = false;
  for (let i = 0; i < addrEnd && !v6; i++) v6 = text.charCodeAt(i) === 58;
  if (v6) {
    if (!parseIpv6Into(text, addrEnd, out, off + 1)) return false;
  } else {
    const v4 = parseIpv4(text, 0, addrEnd);
    if (v4 === null) return false;
    out[off + 1] = v4;
    out[off + 2] = out[off + 3] = out[off + 4] = 0;
  }
  const max = v6 ? 128 : 32;
  let prefix = max;
  if (slash !== -1) {
    const digits = text.length - slash - 1;
    if (digits < 1 || digits > 3 || (digits > 1 && text.charCodeAt(slash + 1) === 48)) return false;
    prefix = 0;
    for (let i = slash + 1; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch < 48 || ch > 57) return false;
      prefix = prefix * 10 + (ch - 48);
    }
    if (prefix > max) return false;
  }
  if (v6 && prefix >= 96 && out[off + 1] === 0 && out[off + 2] === 0 && out[off + 3] === 0xffff) {
    v6 = false;
    prefix -= 96;
    out[off + 1] = out[off + 4];
    out[off + 2] = out[off + 3] = out[off + 4] = 0;
  }
  out[off] = ((v6 ? 1 : 0) << 8) | prefix;
  for (let w = 0; w < 4; w++) out[off + 1 + w] = maskWord(out[off + 1 + w], prefix - w * 32);
  return true;
}

/** A CIDR (see parseNetworkInto) as a Network; null when the text is not one. */
export function parseNetwork(text: string): Network | null {
  const packed = new Uint32Array(PACKED_STRIDE);
  if (!parseNetworkInto(text, packed, 0)) return null;
  const { v6, prefix } = packedHead(packed, 0);
  return { v6, prefix, words: Array.from(packed.subarray(1, v6 ? 5 : 2)) };
}

/** True when the first `prefix` bits of `addr` equal those of the key at `key[offset…]`. */
export function prefixMatches(addr: readonly number[], key: ArrayLike<number>, offset: number, prefix: number): boolean {
  for (let w = 0; w * 32 < prefix; w++) {
    const diff = (addr[w] ^ key[offset + w]) >>> 0;
    if (diff !== 0) return w * 32 + Math.clz32(diff) >= prefix;
  }
  return true;
}

/** True when `net` contains `addr` (never across families). */
export function networkContains(net: Network, addr: Address): boolean {
  return net.v6 === addr.v6 && prefixMatches(addr.words, net.words, 0, net.prefix);
}

/** The family and prefix of packed network i, and where its words start. */
export function packedHead(packed: Uint32Array, i: number): { v6: boolean; prefix: number; offset: number } {
  const head = packed[i * PACKED_STRIDE];
  return { v6: head >>> 8 === 1, prefix: head & 0xff, offset: i * PACKED_STRIDE + 1 };
}

/** True when one of the packed networks contains `addr`. */
export function packedContains(packed: Uint32Array, addr: Address): boolean {
  const family = addr.v6 ? 1 : 0;
  for (let i = 0; i < packed.length; i += PACKED_STRIDE) {
    const head = packed[i];
    if (head >>> 8 === family && prefixMatches(addr.words, packed, i + 1, head & 0xff)) return true;
  }
  return false;
}
