import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** Why a domain name was refused; `null` when it is acceptable. */
export type DomainNameResult = { ok: true; domain: string } | { ok: false; reason: string };

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Normalises a sending domain to its lowercase A-label form (IDN through
 * domainToASCII) without a trailing dot, and rejects what cannot be a sending domain.
 */
export function normalizeDomainName(input: string): DomainNameResult {
  const raw = input.trim();
  if (raw === '') return { ok: false, reason: 'must not be empty' };
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return { ok: false, reason: 'must not contain spaces or control characters' };
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIP(bare)) return { ok: false, reason: 'must be a domain name, not an IP address' };
  const withoutDot = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (withoutDot.split('.').some((l) => l === '')) return { ok: false, reason: 'must not contain empty labels' };
  const ascii = domainToASCII(withoutDot.toLowerCase());
  if (!ascii) return { ok: false, reason: 'contains characters that are not allowed in a domain name' };
  if (isIP(ascii)) return { ok: false, reason: 'must be a domain name, not an IP address' };
  if (ascii.length > 253) return { ok: false, reason: 'must be at most 253 characters' };
  const labels = ascii.split('.');
  if (labels.length < 2) return { ok: false, reason: 'must have at least two labels (example.com, not example)' };
  for (const label of labels) {
    if (label.length === 0) return { ok: false, reason: 'must not contain empty labels' };
    if (label.length > 63) return { ok: false, reason: `label "${label.slice(0, 20)}…" is longer than 63 characters` };
    if (!LABEL.test(label)) return { ok: false, reason: `label "${label}" may only contain letters, digits and inner hyphens` };
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return { ok: false, reason: 'the top-level label must not be numeric' };
  return { ok: true, domain: ascii };
}
