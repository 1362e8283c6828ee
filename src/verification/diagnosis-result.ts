/** What a diagnosis of a failed record says (see diagnosis.ts), and how untrusted text is shown in it. */

export type DiagnosisCode =
  | 'cname_instead_of_txt'
  | 'cname_beside_records'
  | 'zone_doubled'
  | 'missing_subdomain'
  | 'at_apex'
  | 'quoted'
  | 'split'
  | 'split_records'
  | 'truncated'
  | 'missing_version'
  | 'missing_key_type'
  | 'multiple_spf'
  | 'spf_lookup_limit'
  | 'other_selector';

export interface Diagnosis {
  code: DiagnosisCode;
  /** The mistake, in words: what was found and where. */
  reason: string;
  /** What to do, with the exact host label to type. */
  hint: string;
}

/** A short, printable excerpt of untrusted text (a TXT value, a CNAME target), for reasons and hints. */
export function excerpt(text: string, max = 40): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
