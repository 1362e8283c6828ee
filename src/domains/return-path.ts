import type { RecordStatus, Verdict } from '../verification/verdict';
import { normalizeDomainName } from './domain-name';
import { applyCheck, INITIAL_CHECK_STATE, type CheckState, type DomainStatus, type StatePolicy } from './domain-state';

/** What the relay does while a domain's return path is not verified (DESIGN §5, §6). */
export const RETURN_PATH_FALLBACKS = ['use_sender', 'reject'] as const;
export type ReturnPathFallback = (typeof RETURN_PATH_FALLBACKS)[number];

/** The envelope sender delivery uses now: a VERP address at the subdomain, the client's own, or none (the relay refuses). */
export type ReturnPathMode = 'verp' | ReturnPathFallback;

/** One per-nameserver verdict of a return-path record. */
export interface ReturnPathNameserverDoc {
  host: string;
  ip: string;
  status: RecordStatus;
  found: string[];
  reason: string | null;
}

/** The latest verdict of one return-path record (the MX or the SPF TXT at the subdomain). */
export interface ReturnPathRecordDoc {
  purpose: 'mx' | 'spf';
  status: RecordStatus;
  found: string[];
  reason: string | null;
  nameservers: ReturnPathNameserverDoc[];
  /** When it fails: the likely mistake and what to type where (the diagnosis); absent in records written before it. */
  hint?: string | null;
}

/**
 * A domain's custom MAIL FROM subdomain: its own verification, run with every check of the
 * domain and through the same state machine (72 h window, rechecks, a confirmed failure
 * suspends it, temperror changes nothing). It never changes the domain's own status: it
 * only decides which envelope sender delivery uses.
 */
export interface ReturnPathDoc {
  /** Lowercase A-label, a proper subdomain of the domain. */
  subdomain: string;
  fallback: ReturnPathFallback;
  /** RETURN_PATH_MX_HOST as of the latest PUT or check: what the MX must name. */
  mxHost: string;
  status: DomainStatus;
  startedAt: Date;
  deadlineAt: Date;
  verifiedAt: Date | null;
  suspendedAt: Date | null;
  lastCheckedAt: Date | null;
  nextCheckAt: Date | null;
  checkState: CheckState;
  records: ReturnPathRecordDoc[];
  /** The zone that holds the subdomain, as the latest check found it; absent before one found it. */
  zone?: string | null;
}

/** The subdomain, normalised, or why it cannot be the domain's return path. */
export function parseReturnPathSubdomain(domain: string, input: string): { ok: true; subdomain: string } | { ok: false; reason: string } {
  const name = normalizeDomainName(input);
  if (!name.ok) return name;
  if (!name.domain.endsWith(`.${domain}`)) return { ok: false, reason: `must be a subdomain of ${domain} (for example bounce.${domain})` };
  return { ok: true, subdomain: name.domain };
}

/** A new return path, pending, with a window of its own that starts now. */
export function newReturnPath(subdomain: string, fallback: ReturnPathFallback, mxHost: string, now: Date, propagationWindowMs: number): ReturnPathDoc {
  return {
    subdomain,
    fallback,
    mxHost,
    status: 'pending',
    startedAt: now,
    deadlineAt: new Date(now.getTime() + propagationWindowMs),
    verifiedAt: null,
    suspendedAt: null,
    lastCheckedAt: null,
    nextCheckAt: now,
    checkState: INITIAL_CHECK_STATE,
    records: [],
  };
}

/**
 * The return path after one check: the domain's state machine applied to the return
 * path's own status, window and bookkeeping. Approval and events stay the domain's.
 */
export function applyReturnPathCheck(rp: ReturnPathDoc, verdict: Verdict, now: Date, policy: StatePolicy): ReturnPathDoc {
  const t = applyCheck({ ...rp, approval: 'approved', checkState: rp.checkState ?? INITIAL_CHECK_STATE }, verdict, now, policy);
  const { approval: _approval, ...changes } = t.changes;
  return { ...rp, ...changes };
}

/** Which envelope sender applies now: VERP while the return path is verified, else its fallback. */
export function returnPathMode(rp: Pick<ReturnPathDoc, 'status' | 'fallback'> | null | undefined): ReturnPathMode {
  if (!rp) return 'use_sender';
  return rp.status === 'verified' ? 'verp' : rp.fallback;
}

/** What delivery and the relay need to know: the mode, and the subdomain VERP addresses use. */
export interface ReturnPathDecision {
  mode: ReturnPathMode;
  subdomain: string | null;
}

export function returnPathDecision(rp: ReturnPathDoc | null | undefined): ReturnPathDecision {
  return { mode: returnPathMode(rp), subdomain: rp?.subdomain ?? null };
}

/** The earlier of two due times; null only when both are. */
export function earlier(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}
