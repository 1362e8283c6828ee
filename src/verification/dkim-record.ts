/** DKIM key records: tag-list parsing (RFC 6376 §3.2) and the selector check of DESIGN §4. */
import { assembleTxt } from './txt';

export type DkimParse = { ok: true; tags: Map<string, string> } | { ok: false; reason: string };

export type DkimCode =
  | 'ok'
  | 'missing'
  | 'multiple'
  | 'revoked'
  | 'wrong_key'
  | 'wrong_k'
  | 'syntax'
  | 'wrong_version'
  /** h= lists hash algorithms that exclude sha256, which is what we sign with. */
  | 'wrong_hash'
  /** s= lists service types that exclude email. */
  | 'not_for_email';

export interface DkimExpectation {
  keyType: 'rsa' | 'ed25519';
  /** The base64 p= value we issued. */
  publicKey: string;
}

export interface DkimResult {
  verdict: 'pass' | 'fail';
  code: DkimCode;
  /** Why it fails, or a note on a pass (testing mode); null on a plain pass. */
  reason: string | null;
  /** The assembled value of every TXT record at the selector. */
  found: string[];
}

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
// VALCHAR is %x21-3A / %x3C-7E; whitespace is only allowed between value chunks.
const TAG_VALUE = /^[\x21-\x3a\x3c-\x7e]+(?:[ \t\r\n]+[\x21-\x3a\x3c-\x7e]+)*$/;
const FWS_EDGES = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/**
 * Parses a DKIM tag-list: `name=value` pairs separated by ";", with folding
 * whitespace allowed around names, "=" and values, and one trailing ";".
 * Values keep their inner whitespace except p=, where it is removed.
 * A repeated tag is a syntax error (§3.2).
 */
export function parseDkimRecord(value: string): DkimParse {
  const tags = new Map<string, string>();
  const specs = value.split(';');
  // A trailing ";" leaves one empty (or whitespace-only) spec at the end, which is allowed.
  if (specs.length > 1 && specs[specs.length - 1].replace(FWS_EDGES, '') === '') specs.pop();
  for (const [index, spec] of specs.entries()) {
    const eq = spec.indexOf('=');
    if (eq < 0) {
      const text = spec.replace(FWS_EDGES, '');
      return { ok: false, reason: text === '' ? `empty tag at position ${index + 1}` : `"${text}" is not a tag=value pair` };
    }
    const name = spec.slice(0, eq).replace(FWS_EDGES, '');
    const raw = spec.slice(eq + 1).replace(FWS_EDGES, '');
    if (!TAG_NAME.test(name)) return { ok: false, reason: `invalid tag name "${name}"` };
    if (tags.has(name)) return { ok: false, reason: `tag "${name}" appears more than once` };
    if (raw !== '' && !TAG_VALUE.test(raw)) return { ok: false, reason: `tag "${name}" has characters that are not allowed in a value` };
    if (/[\r\n]/.test(raw) && !/^(?:[^\r\n]|\r\n[ \t])*$/.test(raw)) {
      return { ok: false, reason: `tag "${name}" has a line break that is not followed by whitespace` };
    }
    tags.set(name, name === 'p' ? raw.replace(/[ \t\r\n]+/g, '') : raw);
  }
  return { ok: true, tags };
}

/**
 * Checks the TXT records at `{selector}._domainkey.{domain}` against the key we
 * issued: exactly one record; v=DKIM1 first when present; k= (default rsa)
 * matching; p= equal to our key ignoring whitespace; an empty p= is revoked.
 */
export function evaluateDkim(records: string[][], expected: DkimExpectation): DkimResult {
  const found = records.map(assembleTxt);
  const fail = (code: DkimCode, reason: string): DkimResult => ({ verdict: 'fail', code, reason, found });
  if (found.length === 0) return fail('missing', 'no DKIM record at the selector');
  if (found.length > 1) {
    return fail('multiple', `${found.length} TXT records at the selector; publish exactly one DKIM record there`);
  }
  const parsed = parseDkimRecord(found[0]);
  if (!parsed.ok) return fail('syntax', `the DKIM record is not a valid tag list: ${parsed.reason}`);
  const { tags } = parsed;

  const version = tags.get('v');
  if (version !== undefined) {
    if ([...tags.keys()][0] !== 'v') return fail('syntax', 'the "v=" tag must be the first tag of the DKIM record');
    if (version !== 'DKIM1') return fail('wrong_version', `"v=${version}" is not a DKIM key record version; it must be "v=DKIM1"`);
  }
  const p = tags.get('p');
  if (p === undefined) return fail('syntax', 'the DKIM record has no "p=" tag');
  if (p === '') return fail('revoked', 'the key is revoked: "p=" is empty');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(p)) return fail('syntax', '"p=" is not base64');

  const keyType = (tags.get('k') ?? 'rsa').toLowerCase();
  if (keyType !== expected.keyType) {
    const shown = tags.has('k') ? `"k=${tags.get('k')}"` : 'no "k=" (which means rsa)';
    return fail('wrong_k', `the DKIM record has ${shown} but the issued key is ${expected.keyType}`);
  }
  if (p !== expected.publicKey.replace(/\s+/g, '')) return fail('wrong_key', '"p=" is not the public key issued for this selector');

  const hashes = listTag(tags.get('h'));
  if (hashes && !hashes.includes('sha256')) {
    return fail('wrong_hash', `"h=${tags.get('h')}" does not allow sha256, which our signatures use`);
  }
  const services = listTag(tags.get('s'));
  if (services && !services.includes('*') && !services.includes('email')) {
    return fail('not_for_email', `"s=${tags.get('s')}" does not allow the key to be used for email`);
  }
  // t=y still verifies; receivers may just treat failures leniently, so it is a pass with a note.
  const testing = listTag(tags.get('t'))?.includes('y') ?? false;
  return {
    verdict: 'pass',
    code: 'ok',
    reason: testing ? 'the record is in testing mode (t=y): receivers may ignore failed signatures' : null,
    found,
  };
}

// h=, s= and t= are colon-separated lists with optional whitespace around each item.
function listTag(value: string | undefined): string[] | undefined {
  return value?.split(':').map((item) => item.replace(/\s+/g, '').toLowerCase());
}
