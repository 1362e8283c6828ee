/**
 * The only way the evaluators in src/verification reach DNS. Implementations live in
 * src/dns (sockets); tests may pass an in-memory table.
 */

/** Why a lookup produced no usable answer, when the cause is not the name's absence. */
export type LookupFailure = 'timeout' | 'servfail' | 'refused' | 'lame' | 'network-error' | 'formerr';

export type LookupResult<T> =
  | { kind: 'answer'; records: T[] }
  /** The name does not exist (RCODE 3). */
  | { kind: 'nxdomain' }
  /** The name exists but has no records of this type. */
  | { kind: 'nodata' }
  /** A temporary failure: nothing definitive can be said about the name. */
  | { kind: 'error'; failure: LookupFailure; detail?: string };

export interface MxRecord {
  exchange: string;
  preference: number;
}

export interface CheckResolver {
  /** TXT records; each record is its list of character-strings, unjoined (see assembleTxt). */
  txt(name: string): Promise<LookupResult<string[]>>;
  a(name: string): Promise<LookupResult<string>>;
  aaaa(name: string): Promise<LookupResult<string>>;
  mx(name: string): Promise<LookupResult<MxRecord>>;
  /** PTR targets of a reverse name such as 1.2.0.192.in-addr.arpa. */
  ptr(name: string): Promise<LookupResult<string>>;
}
