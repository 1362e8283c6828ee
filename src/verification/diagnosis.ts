/**
 * Diagnosis of a failed record (DESIGN §6): the usual ways owners publish a record in the
 * wrong place or in the wrong shape, named in a `reason` and a `hint` that gives the exact
 * host label to type into the DNS provider's form. Pure over what was looked up: the lookups
 * are in diagnosis-lookups.ts. Every TXT value here is attacker-controlled, so values are
 * capped before they are read and only short, cleaned excerpts are ever echoed.
 */
import { excerpt, type Diagnosis } from './diagnosis-result';
import { recordHost } from './records';
import { diagnoseDkimValue, diagnoseSpfValue, diagnoseSpfLookups, hasOurKey, hasOurInclude, type SpfTermCost } from './value-diagnosis';

export type { Diagnosis, DiagnosisCode } from './diagnosis-result';

/** What a record's value must be; the diagnosis differs by kind. */
export type DiagnosedValue =
  | {
      kind: 'dkim';
      keyType: 'rsa' | 'ed25519';
      publicKey: string;
      /** The domain's other selectors (a rotation): their key at this name means a record was replaced, not added. */
      otherSelectors?: Array<{ selector: string; host: string; publicKey: string }>;
    }
  | { kind: 'spf'; includeDomain: string }
  | { kind: 'mx'; exchange: string };

/** One record to diagnose: where it belongs and what it must hold. */
export interface DiagnosisSubject {
  /** The fully qualified name where the record belongs. */
  name: string;
  /** The domain the record serves (DKIM published "at the apex" lands here). */
  domain: string;
  /** The authoritative zone holding `name`, as the verifier found it. */
  zone: string;
  value: DiagnosedValue;
  /** Other record types this name must also hold (a return path: MX beside TXT), which a CNAME would hide. */
  alongside?: Array<'TXT' | 'MX'>;
}

/** Records as looked up: a TXT record's strings, unjoined; an MX record as `[exchange]`. */
export type FoundRecords = string[][];

/** What diagnosis-lookups.ts found on the nameserver where the check failed. */
export interface DiagnosisEvidence {
  /** The records of the expected type at `name`; null when that lookup failed. */
  atName: FoundRecords | null;
  /** The CNAME target at `name`, if it has one. */
  cname: string | null;
  /** Records of the expected type at the names of misplacedNames(). */
  elsewhere: Array<{ name: string; records: FoundRecords }>;
  /** SPF: the lookups each term of the record costs once our include is merged in. */
  spfCosts?: SpfTermCost[];
}

/** Where a misplaced record is looked for, and which mistake finding it there means. */
export type Misplacement = { name: string; mistake: 'zone_doubled' | 'missing_subdomain' | 'at_apex' };

/** At most this many records of one name are read, and this many characters of each value. */
export const MAX_RECORDS = 8;
export const MAX_VALUE_CHARS = 4096;

const canon = (n: string) => n.replace(/\.$/, '').toLowerCase();

/** Keeps what an attacker-controlled answer may make us read: a few records, each capped. */
export function capRecords(records: FoundRecords): FoundRecords {
  return records.slice(0, MAX_RECORDS).map((strings) => {
    const out: string[] = [];
    let left = MAX_VALUE_CHARS;
    for (const s of strings) {
      if (left <= 0) break;
      out.push(s.slice(0, left));
      left -= s.length;
    }
    return out;
  });
}

/**
 * The names where an owner commonly puts this record by mistake: the zone appended twice,
 * the host typed relative to the domain into the zone's form, and (DKIM) the apex.
 */
export function misplacedNames(s: DiagnosisSubject): Misplacement[] {
  const name = canon(s.name);
  const zone = canon(s.zone);
  const domain = canon(s.domain);
  const out: Misplacement[] = [{ name: `${name}.${zone}`, mistake: 'zone_doubled' }];
  if (domain !== zone && (name === domain || name.endsWith(`.${domain}`))) {
    const rel = recordHost(name, domain);
    out.push({ name: rel === '@' ? zone : `${rel}.${zone}`, mistake: 'missing_subdomain' });
  }
  if (s.value.kind === 'dkim') out.push({ name: domain, mistake: 'at_apex' }, { name: zone, mistake: 'at_apex' });
  const seen = new Set([name]);
  return out.filter((m) => !seen.has(m.name) && seen.add(m.name));
}

/** True when a record found elsewhere is this one, published in the wrong place. */
function isOurs(value: DiagnosedValue, record: string[]): boolean {
  if (value.kind === 'dkim') return hasOurKey(record.join(''), value.publicKey);
  if (value.kind === 'spf') return hasOurInclude(record.join(''), value.includeDomain);
  return record.length > 0 && canon(record[0]) === canon(value.exchange);
}

const typeOf = (v: DiagnosedValue) => (v.kind === 'mx' ? 'MX' : 'TXT');

/** Names the likely mistake behind a failed record, or null when none of the usual ones fits. */
export function diagnose(s: DiagnosisSubject, evidence: DiagnosisEvidence): Diagnosis | null {
  const host = recordHost(s.name, s.zone);
  const type = typeOf(s.value);
  if (evidence.cname !== null) return cnameDiagnosis(s, host, type, evidence.cname);

  const atName = evidence.atName === null ? null : capRecords(evidence.atName);
  if (atName !== null && s.value.kind === 'dkim') {
    const found = diagnoseDkimValue(atName, s.value, host);
    if (found) return found;
    const ours = s.value.publicKey;
    const other = (s.value.otherSelectors ?? []).find((o) => !atName.some((r) => hasOurKey(r.join(''), ours)) && atName.some((r) => hasOurKey(r.join(''), o.publicKey)));
    if (other) {
      return {
        code: 'other_selector',
        reason: `the record at ${s.name} holds the key of selector ${other.selector}: it was replaced instead of a new record being added at ${other.host}.${s.zone}`,
        hint: `Put the value shown back at host "${host}", and add the record of selector ${other.selector} at host "${other.host}" beside it.`,
      };
    }
  }
  if (atName !== null && s.value.kind === 'spf') {
    const found = diagnoseSpfValue(atName, s.value.includeDomain, host);
    if (found) return found;
  }
  const alreadyHere = atName !== null && atName.some((r) => isOurs(s.value, r));
  if (!alreadyHere) {
    for (const place of misplacedNames(s)) {
      const there = evidence.elsewhere.find((e) => canon(e.name) === place.name);
      if (there && capRecords(there.records).some((r) => isOurs(s.value, r))) return misplaced(s, host, type, place);
    }
  }
  if (s.value.kind === 'spf' && evidence.spfCosts) return diagnoseSpfLookups(evidence.spfCosts, s.value.includeDomain, host);
  return null;
}

function cnameDiagnosis(s: DiagnosisSubject, host: string, type: string, target: string): Diagnosis {
  // In one order whichever record is diagnosed, so the MX and the TXT of a name give one hint.
  const others = [...new Set([type, ...(s.alongside ?? [])])].sort();
  const to = excerpt(canon(target), 80);
  if (others.length > 1) {
    return {
      code: 'cname_beside_records',
      reason: `a CNAME (to ${to}) is published at ${s.name}, which also needs ${others.join(' and ')} records; a CNAME cannot share its name with any other record`,
      hint: `Delete the CNAME at host "${host}", then add the ${others.join(' and ')} records at host "${host}".`,
    };
  }
  return {
    code: 'cname_instead_of_txt',
    reason: `a CNAME (to ${to}) is published at ${s.name} where the ${type} record belongs`,
    hint: `Delete the CNAME at host "${host}" and add a ${type} record at host "${host}" with the value shown.`,
  };
}

function misplaced(s: DiagnosisSubject, host: string, type: string, place: Misplacement): Diagnosis {
  const wrongHost = recordHost(place.name, s.zone);
  if (s.value.kind === 'spf' && place.mistake === 'missing_subdomain') {
    // The zone apex may well send through us itself: its SPF record is not necessarily a misplaced copy.
    const apex = canon(s.zone);
    return {
      code: place.mistake,
      reason: `an SPF record with include:${s.value.includeDomain} is published at ${place.name} (the zone apex) but none at ${s.name}: the host may have left out the part of ${s.domain} below the zone ${s.zone}`,
      hint: `Add the SPF record at host "${host}" (in the zone ${s.zone}; the provider appends the zone itself). Keep the one at host "${wrongHost}" if ${apex} sends mail itself; otherwise delete it.`,
    };
  }
  const what = s.value.kind === 'mx' ? 'MX' : s.value.kind === 'spf' ? 'SPF' : 'DKIM';
  const record = what === type ? type : `${what} ${type}`;
  const reasons = {
    zone_doubled: `the ${what} record is published at ${place.name}: the zone was typed into the host, and the DNS provider appended ${s.zone} again`,
    missing_subdomain: `the ${what} record is published at ${place.name}: the host left out the part of ${s.domain} below the zone ${s.zone}`,
    at_apex: `the ${what} record is published at ${place.name} (the apex) instead of at ${s.name}`,
  };
  return {
    code: place.mistake,
    reason: reasons[place.mistake],
    hint: `Move the ${record} record from host "${wrongHost}" to host "${host}" (in the zone ${s.zone}; the provider appends the zone itself).`,
  };
}
