/** SPF macro-string parsing and expansion (RFC 7208 §7). Pure: %{p} arrives precomputed. */
import { formatIp, ipLabels, type IpAddress } from './ip-address';

/** Everything a macro can refer to during one check_host() evaluation. */
export interface MacroContext {
  /** <sender> with "postmaster" substituted for an empty local part. */
  sender: string;
  localPart: string;
  senderDomain: string;
  /** The current <domain>: changes on include and redirect. */
  domain: string;
  ip: IpAddress;
  helo: string;
  /** %{p}: the validated domain name of the ip, or "unknown". */
  validatedDomain: string;
  /** %{r}: the receiving host's domain (exp only). */
  receivingDomain: string;
  /** %{t}: seconds since the epoch (exp only). */
  timestamp: number;
}

type MacroToken =
  | { kind: 'literal'; text: string }
  | { kind: 'macro'; letter: string; escape: boolean; keep: number | null; reverse: boolean; delimiters: string };

export type MacroParse = { ok: true; tokens: MacroToken[] } | { ok: false; reason: string };

const LETTERS = 'slodiphv';
// c, r and t describe the receiver, so §7.2 only allows them inside an explanation.
const EXP_ONLY_LETTERS = 'crt';
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Parses a macro-string. With `explanation` set, the exp-only letters c, r, t
 * and literal spaces are allowed (RFC 7208 §6.2 explain-string).
 */
export function parseMacroString(text: string, explanation = false): MacroParse {
  const tokens: MacroToken[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '%') {
      const code = ch.charCodeAt(0);
      const visible = code >= 0x21 && code <= 0x7e;
      if (!visible && !(explanation && ch === ' ')) {
        return { ok: false, reason: `character ${JSON.stringify(ch)} is not allowed in "${text}"` };
      }
      literal += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '%' || next === '_' || next === '-') {
      literal += next === '%' ? '%' : next === '_' ? ' ' : '%20';
      i++;
      continue;
    }
    if (next !== '{') return { ok: false, reason: `"%" must be followed by "{", "%", "_" or "-" in "${text}"` };
    const close = text.indexOf('}', i + 2);
    if (close < 0) return { ok: false, reason: `unterminated macro in "${text}"` };
    const body = text.slice(i + 2, close);
    const macro = /^([a-zA-Z])([0-9]*)([rR]?)([.\-+,/_=]*)$/.exec(body);
    if (!macro) return { ok: false, reason: `invalid macro "%{${body}}" in "${text}"` };
    const [, letterRaw, digits, reverse, delimiters] = macro;
    const letter = letterRaw.toLowerCase();
    if (!LETTERS.includes(letter) && !(explanation && EXP_ONLY_LETTERS.includes(letter))) {
      const where = EXP_ONLY_LETTERS.includes(letter) ? ' (only allowed in exp= explanations)' : '';
      return { ok: false, reason: `unknown macro letter "${letterRaw}" in "${text}"${where}` };
    }
    // §7.3: a DIGIT transformer, when present, must be nonzero.
    if (digits !== '' && Number(digits) === 0) return { ok: false, reason: `macro "%{${body}}" keeps zero labels` };
    if (literal) tokens.push({ kind: 'literal', text: literal });
    literal = '';
    tokens.push({
      kind: 'macro',
      letter,
      escape: letterRaw !== letter,
      keep: digits === '' ? null : Number(digits),
      reverse: reverse !== '',
      delimiters: delimiters || '.',
    });
    i = close;
  }
  if (literal) tokens.push({ kind: 'literal', text: literal });
  return { ok: true, tokens };
}

/** True when expanding the parsed string needs %{p}, which costs PTR and address lookups. */
export function needsValidatedDomain(tokens: MacroToken[]): boolean {
  return tokens.some((t) => t.kind === 'macro' && t.letter === 'p');
}

/** Expands parsed tokens against the context (RFC 7208 §7.3). */
export function expandMacroTokens(tokens: MacroToken[], context: MacroContext): string {
  return tokens.map((t) => (t.kind === 'literal' ? t.text : expandOne(t, context))).join('');
}

/** Parses then expands; the parse failure is returned when the string is malformed. */
export function expandMacroString(
  text: string,
  context: MacroContext,
  explanation = false,
): { ok: true; value: string } | { ok: false; reason: string } {
  const parsed = parseMacroString(text, explanation);
  if (!parsed.ok) return parsed;
  return { ok: true, value: expandMacroTokens(parsed.tokens, context) };
}

function letterValue(letter: string, c: MacroContext): string {
  switch (letter) {
    case 's': return c.sender;
    case 'l': return c.localPart;
    case 'o': return c.senderDomain;
    case 'd': return c.domain;
    // §7.3: i is dotted quad, or dot-separated nibbles for IPv6.
    case 'i': return ipLabels(c.ip).join('.');
    case 'p': return c.validatedDomain;
    case 'v': return c.ip.version === 4 ? 'in-addr' : 'ip6';
    case 'h': return c.helo;
    case 'c': return formatIp(c.ip);
    case 'r': return c.receivingDomain;
    case 't': return String(c.timestamp);
    default: throw new Error(`unreachable macro letter ${letter}`);
  }
}

function expandOne(token: Extract<MacroToken, { kind: 'macro' }>, context: MacroContext): string {
  let parts = splitOnAny(letterValue(token.letter, context), token.delimiters);
  if (token.reverse) parts = parts.reverse();
  if (token.keep !== null && token.keep < parts.length) parts = parts.slice(parts.length - token.keep);
  const value = parts.join('.');
  return token.escape ? urlEscape(value) : value;
}

function splitOnAny(value: string, delimiters: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (const ch of value) {
    if (delimiters.includes(ch)) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

// §7.3: uppercase macros escape everything outside RFC 3986 "unreserved", byte by byte.
function urlEscape(value: string): string {
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
