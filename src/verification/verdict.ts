/**
 * The outcome of one check of one record, on one nameserver or over all of them
 * (DESIGN §3): `temperror` is "could not tell" and never changes a domain's state.
 */
export type Verdict = 'pass' | 'fail' | 'temperror';

/** A record's status in the domain resource: a verdict, or `pending` before its first check. */
export type RecordStatus = Verdict | 'pending';
