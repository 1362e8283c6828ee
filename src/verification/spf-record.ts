/** SPF record selection and parsing (RFC 7208 §4.5, §4.6, §5, §6, §12 ABNF). */
import { parseIpv4, parseIpv6, type IpAddress } from './ip-address';
import { parseMacroString } from './spf-macro';
import { assembleTxt } from './txt';

export type Qualifier = '+' | '-' | '~' | '?';

export type Mechanism =
  | { kind: 'all' }
  | { kind: 'include'; domainSpec: string }
  | { kind: 'a' | 'mx'; domainSpec: string | null; prefix4: number; prefix6: number }
  | { kind: 'ptr'; domainSpec: string | null }
  | { kind: 'ip4' | 'ip6'; network: IpAddress; prefix: number }
  | { kind: 'exists'; domainSpec: string };

export interface Directive {
  qualifier: Qualifier;
  mechanism: Mechanism;
  /** The term as written in the record, for reasons and `matched`. */
  text: string;
}

export interface SpfRecord {
  directives: Directive[];
  redirect: string | null;
  exp: string | null;
}

export type SpfParse = { ok: true; record: SpfRecord } | { ok: false; reason: string };

/** The mechanisms and modifiers that cost one of the ten DNS-querying terms (§4.6.4). */
export const DNS_QUERYING_TERMS: ReadonlySet<string> = new Set(['include', 'a', 'mx', 'ptr', 'exists', 'redirect']);

const VERSION = /^v=spf1( |$)/i;
const MODIFIER = /^([a-zA-Z][a-zA-Z0-9\-_.]*)=(.*)$/;

/** True when an assembled TXT value is an SPF version 1 record (§4.5). */
export function isSpfRecord(value: string): boolean {
  return VERSION.test(value);
}

/** The assembled values of the TXT records at a name that are SPF version 1 records. */
export function selectSpfRecords(txtRecords: string[][]): string[] {
  return txtRecords.map(assembleTxt).filter(isSpfRecord);
}

/**
 * Parses an SPF record. Any syntax error anywhere makes the whole record a
 * permerror before evaluation starts (§4.6), so every term is checked here,
 * including macro syntax.
 */
export function parseSpfRecord(value: string): SpfParse {
  if (!isSpfRecord(value)) return { ok: false, reason: 'the record does not start with "v=spf1"' };
  const terms = value.slice('v=spf1'.length).split(' ').filter((t) => t !== '');
  const record: SpfRecord = { directives: [], redirect: null, exp: null };
  for (const term of terms) {
    const modifier = MODIFIER.exec(term);
    if (modifier) {
      const error = addModifier(record, modifier[1].toLowerCase(), modifier[2], term);
      if (error) return { ok: false, reason: error };
      continue;
    }
    const directive = parseDirective(term);
    if (typeof directive === 'string') return { ok: false, reason: directive };
    record.directives.push(directive);
  }
  return { ok: true, record };
}

function addModifier(record: SpfRecord, name: string, value: string, term: string): string | null {
  if (name === 'redirect' || name === 'exp') {
    // §6: redirect and exp may each appear at most once.
    if (record[name] !== null) return `"${name}=" appears more than once`;
    const error = checkDomainSpec(value, term);
    if (error) return error;
    record[name] = value;
    return null;
  }
  // Unknown modifiers are ignored (§6), but their value must still be a macro-string.
  const parsed = parseMacroString(value);
  return parsed.ok ? null : `invalid modifier "${term}": ${parsed.reason}`;
}

function parseDirective(term: string): Directive | string {
  const qualifier = '+-~?'.includes(term[0]) ? (term[0] as Qualifier) : '+';
  const body = '+-~?'.includes(term[0]) ? term.slice(1) : term;
  const nameMatch = /^[a-zA-Z0-9]+/.exec(body);
  const name = nameMatch ? nameMatch[0].toLowerCase() : '';
  const rest = body.slice(name.length);
  const mechanism = parseMechanism(name, rest, term);
  if (typeof mechanism === 'string') return mechanism;
  return { qualifier, mechanism, text: term };
}

function parseMechanism(name: string, rest: string, term: string): Mechanism | string {
  switch (name) {
    case 'all':
      return rest === '' ? { kind: 'all' } : `"all" takes no argument: "${term}"`;
    case 'include':
    case 'exists': {
      if (!rest.startsWith(':') || rest.length === 1) return `"${name}" needs a domain: "${term}"`;
      const error = checkDomainSpec(rest.slice(1), term);
      return error ?? { kind: name, domainSpec: rest.slice(1) };
    }
    case 'ptr': {
      if (rest === '') return { kind: 'ptr', domainSpec: null };
      if (!rest.startsWith(':') || rest.length === 1) return `malformed "ptr" mechanism: "${term}"`;
      const error = checkDomainSpec(rest.slice(1), term);
      return error ?? { kind: 'ptr', domainSpec: rest.slice(1) };
    }
    case 'a':
    case 'mx':
      return parseAddressMechanism(name, rest, term);
    case 'ip4':
    case 'ip6':
      return parseIpMechanism(name, rest, term);
    default:
      return `unknown mechanism "${term}"`;
  }
}

function parseAddressMechanism(kind: 'a' | 'mx', rest: string, term: string): Mechanism | string {
  let domainSpec: string | null = null;
  let cidr = rest;
  if (rest.startsWith(':')) {
    const end = endOfDomainSpec(rest, 1);
    domainSpec = rest.slice(1, end);
    cidr = rest.slice(end);
    if (domainSpec === '') return `"${kind}:" needs a domain: "${term}"`;
    const error = checkDomainSpec(domainSpec, term);
    if (error) return error;
  }
  // dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
  const dual = /^(?:\/(0|[1-9][0-9]?))?(?:\/\/(0|[1-9][0-9]{0,2}))?$/.exec(cidr);
  if (!dual) return `malformed CIDR length in "${term}"`;
  const prefix4 = dual[1] === undefined ? 32 : Number(dual[1]);
  const prefix6 = dual[2] === undefined ? 128 : Number(dual[2]);
  if (prefix4 > 32) return `IPv4 CIDR length ${prefix4} is over 32 in "${term}"`;
  if (prefix6 > 128) return `IPv6 CIDR length ${prefix6} is over 128 in "${term}"`;
  return { kind, domainSpec, prefix4, prefix6 };
}

function parseIpMechanism(kind: 'ip4' | 'ip6', rest: string, term: string): Mechanism | string {
  if (!rest.startsWith(':')) return `"${kind}" needs an address: "${term}"`;
  const slash = rest.indexOf('/');
  const literal = slash < 0 ? rest.slice(1) : rest.slice(1, slash);
  const max = kind === 'ip4' ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const length = rest.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(length)) return `malformed CIDR length in "${term}"`;
    prefix = Number(length);
    if (prefix > max) return `CIDR length ${prefix} is over ${max} in "${term}"`;
  }
  const network = kind === 'ip4' ? parseIpv4(literal) : parseIpv6(literal);
  if (!network) return `"${literal}" is not a valid ${kind === 'ip4' ? 'IPv4' : 'IPv6'} address in "${term}"`;
  return { kind, network, prefix };
}

// A domain-spec may contain "/" inside a macro's delimiters, so only a "/" outside %{...} starts the CIDR.
function endOfDomainSpec(text: string, from: number): number {
  let inMacro = false;
  for (let i = from; i < text.length; i++) {
    if (!inMacro && text[i] === '/') return i;
    if (text[i] === '%' && text[i + 1] === '{') inMacro = true;
    else if (text[i] === '}') inMacro = false;
  }
  return text.length;
}

/**
 * domain-spec = macro-string domain-end, where domain-end is a macro or
 * "." toplabel ["."]: a literal target must have at least two labels and a
 * top label that is not all digits.
 */
function checkDomainSpec(spec: string, term: string): string | null {
  const parsed = parseMacroString(spec);
  if (!parsed.ok) return `invalid domain in "${term}": ${parsed.reason}`;
  const last = parsed.tokens[parsed.tokens.length - 1];
  if (last.kind === 'macro') return null;
  // %%, %_ and %- are macro-expands too, but they become literal text once parsed.
  if (/%[%_-]$/.test(spec)) return null;
  const trimmed = spec.endsWith('.') ? spec.slice(0, -1) : spec;
  const dot = trimmed.lastIndexOf('.');
  const top = trimmed.slice(dot + 1);
  const toplabel = /^(?:[a-zA-Z0-9]*[a-zA-Z][a-zA-Z0-9]*|[a-zA-Z0-9]+-[a-zA-Z0-9-]*[a-zA-Z0-9])$/;
  if (dot < 0 || !toplabel.test(top)) return `"${spec}" is not a valid domain in "${term}"`;
  return null;
}
