import { normalizeDomainName } from '../domains/domain-name';

/** A normalised recipient address, or why it was refused. */
export type EmailAddressResult = { ok: true; address: string; local: string; domain: string } | { ok: false; reason: string };

// RFC 5322 atext, plus any non-ASCII character (RFC 6531 UTF8-non-ascii).
const ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+$/u;
// RFC 5321 qtextSMTP and the printable ASCII of quoted-pairSMTP, plus non-ASCII.
const QTEXT = /^[\x20-\x7e\u0080-\u{10FFFF}]$/u;

const isDotAtom = (s: string) => s !== '' && s.split('.').every((atom) => ATOM.test(atom));

/** The content of a quoted local part (`"a b"` → `a b`), its quoted pairs undone; null when malformed. */
function unquote(quoted: string): string | null {
  let out = '';
  for (let i = 1; i < quoted.length - 1; i++) {
    let ch = quoted[i];
    if (ch === '"') return null;
    if (ch === '\\') {
      i++;
      if (i >= quoted.length - 1) return null;
      ch = quoted[i];
    }
    const cp = quoted.codePointAt(i)!;
    if (cp > 0xffff) {
      ch = String.fromCodePoint(cp);
      i++;
    }
    if (!QTEXT.test(ch)) return null;
    out += ch;
  }
  return out;
}

/**
 * The one spelling of a local part: a dot-atom stays as given (case kept: RFC 5321 §2.4
 * leaves its meaning to the receiving host); a quoted string whose content is a dot-atom
 * loses its quotes (`"john"` and `john` are one mailbox), any other is quoted with only
 * `"` and `\` escaped.
 */
function normalizeLocalPart(local: string): { ok: true; local: string } | { ok: false; reason: string } {
  if (local === '') return { ok: false, reason: 'has an empty local part (before the @)' };
  if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) {
    const content = unquote(local);
    if (content === null) return { ok: false, reason: 'has a malformed quoted local part' };
    if (isDotAtom(content)) return { ok: true, local: content };
    return { ok: true, local: `"${content.replace(/(["\\])/g, '\\$1')}"` };
  }
  if (!isDotAtom(local)) {
    return { ok: false, reason: 'has a local part with characters that need quoting, or with an empty, leading or trailing dot' };
  }
  return { ok: true, local };
}

/**
 * Normalises a recipient address for comparison: the local part exactly as given (only
 * its quoting made canonical), the domain as its lowercase A-label without a trailing dot
 * (IDN through domainToASCII). Refuses what cannot be a mailbox on a domain: address
 * literals, a local part over 64 octets, an address over 254 octets.
 */
export function normalizeEmailAddress(input: string): EmailAddressResult {
  if (input === '') return { ok: false, reason: 'must not be empty' };
  if (/[\u0000-\u001f\u007f]/.test(input)) return { ok: false, reason: 'must not contain control characters' };
  const at = input.lastIndexOf('@');
  if (at < 0) return { ok: false, reason: 'must be an address of the form local@domain' };
  const local = normalizeLocalPart(input.slice(0, at));
  if (!local.ok) return local;
  if (Buffer.byteLength(local.local) > 64) return { ok: false, reason: 'has a local part longer than 64 octets' };
  const rawDomain = input.slice(at + 1);
  if (rawDomain.startsWith('[')) return { ok: false, reason: 'must name a domain, not an address literal' };
  if (/\s/.test(rawDomain)) return { ok: false, reason: 'has a domain with spaces' };
  const domain = normalizeDomainName(rawDomain);
  if (!domain.ok) return { ok: false, reason: `has a domain that ${domain.reason}` };
  const address = `${local.local}@${domain.domain}`;
  if (Buffer.byteLength(address) > 254) return { ok: false, reason: 'must be at most 254 octets' };
  return { ok: true, address, local: local.local, domain: domain.domain };
}
