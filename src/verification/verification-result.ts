import type { Nameserver } from '../dns/nameserver-discovery';
import type { Verdict } from './verdict';

export type { Verdict };

/** One record's verdict on one authoritative nameserver address. */
export interface NameserverVerdict {
  host: string;
  ip: string;
  status: Verdict;
  found: string[];
  reason: string | null;
}

/** One required record across every nameserver (DESIGN §6 records[]). */
export interface RecordCheck {
  purpose: 'spf' | 'dkim';
  selector: string | null;
  name: string;
  /** The value we asked the owner to publish. */
  expected: string;
  status: Verdict;
  found: string[];
  reason: string | null;
  /** For SPF: the record to publish given what is there now (a merge, never a second record). */
  suggested: string | null;
  warnings: string[];
  nameservers: NameserverVerdict[];
  /** When it fails: the likely mistake and what to type where (diagnosis.ts); absent or null otherwise. */
  hint?: string | null;
}

export interface VerificationResult {
  zone: string | null;
  nameservers: Nameserver[];
  records: RecordCheck[];
  dmarc: { found: string | null; advice: string | null };
  /** pass when every record passes; fail when any fails definitively; else temperror. */
  verdict: Verdict;
  durationMs: number;
}

/**
 * A record passes when every answering nameserver passes and at least one answered;
 * it fails when any fails definitively; otherwise it is a temperror.
 */
export function aggregate(perNameserver: NameserverVerdict[]): { status: Verdict; reason: string | null } {
  const failed = perNameserver.filter((n) => n.status === 'fail');
  if (failed.length) {
    const passed = perNameserver.filter((n) => n.status === 'pass');
    const where = failed.map((n) => `${n.host} (${n.ip})`).join(', ');
    const prefix = passed.length ? `not yet on every nameserver: ` : '';
    return { status: 'fail', reason: `${prefix}${where}: ${failed[0].reason ?? 'failed'}` };
  }
  if (perNameserver.some((n) => n.status === 'pass')) {
    const silent = perNameserver.filter((n) => n.status === 'temperror');
    return { status: 'pass', reason: silent.length ? `passed on every nameserver that answered; no answer from ${silent.map((n) => n.host).join(', ')}` : null };
  }
  if (perNameserver.length === 0) return { status: 'temperror', reason: 'no authoritative nameserver to ask' };
  return { status: 'temperror', reason: `no nameserver answered: ${perNameserver.map((n) => `${n.host} ${n.reason}`).join('; ')}` };
}

/** The verdict of several records together. */
export function overall(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.length && verdicts.every((v) => v === 'pass')) return 'pass';
  return 'temperror';
}
