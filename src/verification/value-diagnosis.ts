/**
 * The shape mistakes of a record found at the right name: quoted twice, split at a wrong
 * place, entered as several records or only in part, DKIM tags missing, several SPF records,
 * and an SPF record over the 10-lookup limit once our include is in it. Pure.
 */
import { evaluateDkim, parseDkimRecord } from './dkim-record';
import { excerpt as shown, type Diagnosis } from './diagnosis-result';
import { dkimValue } from './records';
import { isSpfRecord } from './spf-record';

/** The DNS lookups one top-level term of an SPF record costs a receiver, nested includes counted. */
export interface SpfTermCost {
  term: string;
  lookups: number;
  /** False when the count is a lower bound (over the limit inside, a macro, a lookup that failed). */
  complete: boolean;
}

const ALL_TERM = /^[+\-~?]?all$/i;
const INCLUDE_TERM = /^[+\-~?]?include:(.+)$/i;
const canon = (n: string) => n.replace(/\.$/, '').toLowerCase();
// Quote characters (and the backslashes that escape them) and whitespace: what a form adds or a split inserts.
const squash = (v: string) => v.replace(/["\\\s]/g, '');
const unquote = (v: string) => v.replace(/["\\]/g, '').trim();
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** True when the value carries `p=` with our key, however it was quoted or split. */
export function hasOurKey(value: string, publicKey: string): boolean {
  const needle = `p=${publicKey.replace(/\s+/g, '')}`;
  const s = squash(value);
  const at = s.indexOf(needle);
  return at >= 0 && (at + needle.length === s.length || s[at + needle.length] === ';');
}

/** True when the value is an SPF record (once unquoted) with include:{includeDomain} in it. */
export function hasOurInclude(value: string, includeDomain: string): boolean {
  const v = unquote(value);
  return isSpfRecord(v) && v.split(/\s+/).some((t) => isOurInclude(t, includeDomain));
}

function isOurInclude(term: string, includeDomain: string): boolean {
  const m = INCLUDE_TERM.exec(term);
  return m !== null && canon(m[1]) === canon(includeDomain);
}

/** Where a value differs from the expected one by an inserted space: a short excerpt around it, or null. */
function insertedSpace(found: string, expected: string): string | null {
  let b = 0;
  for (let a = 0; a < found.length; a++) {
    while (b < expected.length && /\s/.test(expected[b]) && !/\s/.test(found[a])) b++;
    if (found[a] === expected[b]) {
      b++;
      continue;
    }
    if (/\s/.test(found[a])) return shown(found.slice(Math.max(0, a - 12), a + 13));
    return null;
  }
  return null;
}

/** DKIM: the value at the selector is ours but in the wrong shape. */
export function diagnoseDkimValue(records: string[][], value: { keyType: 'rsa' | 'ed25519'; publicKey: string }, host: string): Diagnosis | null {
  const joined = records.map((r) => r.join(''));
  const key = value.publicKey.replace(/\s+/g, '');
  if (joined.length > 1) {
    if (joined.some((v) => hasOurKey(v, key))) {
      return {
        code: 'split_records',
        reason: `${joined.length} TXT records are published at the selector and one of them is the DKIM record; receivers need exactly one`,
        hint: `Keep only the DKIM record at host "${host}" and delete the other ${plural(joined.length - 1, 'TXT record')} there.`,
      };
    }
    if (hasOurKey(joined.join(''), key) || hasOurKey([...joined].reverse().join(''), key)) {
      return {
        code: 'split_records',
        reason: `the DKIM value was entered as ${joined.length} separate TXT records instead of one record made of ${joined.length} strings`,
        hint: `Delete the ${joined.length} TXT records at host "${host}" and add one TXT record there with the whole value (the provider splits it into strings itself, or enter the strings shown into one record).`,
      };
    }
    return null;
  }
  if (joined.length === 0) return null;
  const v = joined[0];
  if (evaluateDkim([[v]], value).verdict === 'pass') return null;
  const expected = dkimValue(value.keyType, key);
  if (v.includes('"') && hasOurKey(v, key)) {
    const split = /"\s+"/.test(v) ? ', and its strings were pasted as one value with the quotes between them' : '';
    return {
      code: 'quoted',
      reason: `the DKIM value is quoted twice: it holds quote characters ("${shown(v, 24)}")${split}`,
      hint: `Enter the value at host "${host}" without any quote characters: the DNS provider adds them itself.`,
    };
  }
  const space = insertedSpace(v, expected);
  if (space !== null && squash(v) === squash(expected)) {
    return {
      code: 'split',
      reason: `the DKIM value was split at a wrong place: a space was inserted between its strings ("${space}")`,
      hint: `Enter the value at host "${host}" with nothing between the strings (or paste the whole value and let the provider split it).`,
    };
  }
  const parsed = parseDkimRecord(v);
  const p = parsed.ok ? (parsed.tags.get('p') ?? '') : '';
  if (p.length >= 8 && p.length < key.length && key.startsWith(p)) {
    return {
      code: 'truncated',
      reason: `only the first ${p.length} of the key's ${key.length} characters are published: a string of the value is missing`,
      hint: `Enter the whole value at host "${host}": every string shown, in order, in one TXT record.`,
    };
  }
  if (!hasOurKey(v, key)) return null;
  const r = evaluateDkim([[v]], value);
  if ((r.code === 'syntax' || r.code === 'wrong_version') && !/^\s*v=DKIM1\s*;/.test(v)) {
    return {
      code: 'missing_version',
      reason: `the DKIM value does not start with "v=DKIM1;": ${r.reason}`,
      hint: `Start the value at host "${host}" with "v=DKIM1;" (tag, equals sign, DKIM1, semicolon), then the rest as shown.`,
    };
  }
  if (r.code === 'wrong_k') {
    const missing = !parsed.ok || !parsed.tags.has('k');
    return {
      code: 'missing_key_type',
      reason: missing
        ? `the DKIM value has no "k=", which means rsa, but the key is ${value.keyType}`
        : `the DKIM value has "k=${shown(parsed.ok ? (parsed.tags.get('k') ?? '') : '', 16)}" but the key is ${value.keyType}`,
      hint: missing
        ? `Add "k=${value.keyType};" after "v=DKIM1;" in the value at host "${host}".`
        : `Set "k=${value.keyType};" in the value at host "${host}".`,
    };
  }
  return null;
}

/**
 * SPF records merged into one: every term once, our include added, one `all` (the first
 * record's) at the end, or else the first `redirect=`.
 */
export function mergeSpfRecords(records: string[], includeDomain: string): string {
  const terms: string[] = [];
  const seen = new Set<string>();
  let all: string | null = null;
  let redirect: string | null = null;
  let exp: string | null = null;
  for (const record of records) {
    for (const t of record.trim().split(/\s+/).slice(1)) {
      if (ALL_TERM.test(t)) all ??= t;
      else if (/^redirect=/i.test(t)) redirect ??= t;
      else if (/^exp=/i.test(t)) exp ??= t;
      else if (!seen.has(t.toLowerCase())) {
        seen.add(t.toLowerCase());
        terms.push(t);
      }
    }
  }
  if (!terms.some((t) => isOurInclude(t, includeDomain))) terms.push(`include:${includeDomain}`);
  const end = all ?? redirect ?? '~all';
  return ['v=spf1', ...terms, end, ...(exp ? [exp] : [])].join(' ');
}

const MAX_SHOWN_RECORD = 512;

/** SPF: the record at the domain is there but quoted, doubled or split. */
export function diagnoseSpfValue(records: string[][], includeDomain: string, host: string): Diagnosis | null {
  const joined = records.map((r) => r.join(''));
  // Quoted twice: the value itself starts with a quote (or an escaped one); a quote further in
  // is the owner's text, not the form's mistake.
  const quoted = joined.find((v) => /^\s*\\?"/.test(v) && isSpfRecord(unquote(v)));
  if (quoted !== undefined) {
    return {
      code: 'quoted',
      reason: `the SPF value is quoted twice: it holds quote characters ("${shown(quoted, 24)}"), so receivers do not read it as an SPF record`,
      hint: `Enter the value at host "${host}" without any quote characters: the DNS provider adds them itself.`,
    };
  }
  const spf = joined.filter(isSpfRecord);
  if (spf.length > 1) {
    const merged = mergeSpfRecords(spf, includeDomain);
    // The merged terms are copied from the published (untrusted) records: shown only when short and printable.
    const record = merged.length <= MAX_SHOWN_RECORD && /^[\x20-\x7e]*$/.test(merged) ? merged : 'the merged record shown as the value';
    return {
      code: 'multiple_spf',
      reason: `${spf.length} SPF records are published; receivers return permerror unless there is exactly one`,
      hint: `Publish one SPF record at host "${host}" and delete the ${spf.length === 2 ? 'other' : 'others'}: ${record}`,
    };
  }
  if (spf.length === 1 && !hasOurInclude(spf[0], includeDomain)) {
    const v = spf[0];
    let spaces = 0;
    for (let i = v.indexOf(' '); i >= 0 && spaces < 64; i = v.indexOf(' ', i + 1), spaces++) {
      if (hasOurInclude(v.slice(0, i) + v.slice(i + 1), includeDomain)) {
        return {
          code: 'split',
          reason: `the SPF value was split at a wrong place: a space was inserted between its strings ("${shown(v.slice(Math.max(0, i - 12), i + 13))}")`,
          hint: `Enter the value at host "${host}" with nothing between the strings (or paste the whole value and let the provider split it).`,
        };
      }
    }
  }
  return null;
}

/** SPF: over the 10-lookup limit once our include is in: which terms to flatten or drop, costliest first. */
export function diagnoseSpfLookups(costs: SpfTermCost[], includeDomain: string, host: string): Diagnosis | null {
  const total = costs.reduce((n, c) => n + c.lookups, 0);
  if (total <= 10) return null;
  const atLeast = costs.some((c) => !c.complete) ? 'at least ' : '';
  const others = costs.filter((c) => !isOurInclude(c.term, includeDomain)).sort((a, b) => b.lookups - a.lookups);
  const pick: SpfTermCost[] = [];
  let left = total;
  for (const c of others) {
    if (left <= 10) break;
    pick.push(c);
    left -= c.lookups;
  }
  const list = pick.map((c) => `${shown(c.term, 80)} (${c.complete ? '' : 'at least '}${plural(c.lookups, 'lookup')})`).join(', ');
  return {
    code: 'spf_lookup_limit',
    reason: `with include:${includeDomain} the SPF record needs ${atLeast}${total} DNS lookups; receivers allow 10 and return permerror beyond`,
    hint: `In the SPF record at host "${host}", flatten (replace with the ip4:/ip6: ranges they name) or drop ${list}, to stay within 10 lookups.`,
  };
}
