/** What the owner publishes: TXT values and the strings they split into. */

/** Splits a TXT value into character-strings of at most 255 bytes each (RFC 1035 §3.3). */
export function splitTxt(value: string, max = 255): string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [''];
  const out: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + max, bytes.length);
    // Never cut inside a UTF-8 sequence: back off over continuation bytes.
    while (end < bytes.length && end > start && (bytes[end] & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return out;
}

/** The SPF value we ask for when the domain has no SPF record yet. */
export function spfValue(includeDomain: string): string {
  return `v=spf1 include:${includeDomain} ~all`;
}

/** The DKIM TXT value for a selector's public key. */
export function dkimValue(keyType: 'rsa' | 'ed25519', publicKey: string): string {
  return `v=DKIM1; k=${keyType}; p=${publicKey}`;
}

/** The owner name of a selector's DKIM record. */
export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/**
 * The host label of `name` relative to `zone`, as DNS providers' forms want it: `@` for the
 * zone apex, `sel._domainkey.mail` for sel._domainkey.mail.example.com in zone example.com.
 * A name outside the zone is returned whole.
 */
export function recordHost(name: string, zone: string): string {
  const n = name.replace(/\.$/, '').toLowerCase();
  const z = zone.replace(/\.$/, '').toLowerCase();
  if (n === z) return '@';
  return z !== '' && n.endsWith(`.${z}`) ? n.slice(0, -(z.length + 1)) : n;
}

/** The MX preference we ask for at a return-path subdomain. */
export const RETURN_PATH_MX_PREFERENCE = 10;

/** The MX value to publish at a return-path subdomain, as DNS providers' forms take it. */
export function returnPathMxValue(mxHost: string): string {
  return `${RETURN_PATH_MX_PREFERENCE} ${mxHost}`;
}
