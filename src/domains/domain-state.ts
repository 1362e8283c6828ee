import type { Verdict } from '../verification/verdict';

/** A domain's verification status (DESIGN §3). */
export const DOMAIN_STATUSES = ['pending', 'verified', 'failed', 'suspended'] as const;
export type DomainStatus = (typeof DOMAIN_STATUSES)[number];
/** The seed's manual review of a domain. */
export const APPROVAL_STATES = ['not_submitted', 'pending_review', 'approved', 'rejected'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

export const DOMAIN_EVENT_TYPES = [
  'domain.verified',
  'domain.verification_failed',
  'domain.suspended',
  'domain.reinstated',
  'domain.check_degraded',
  // DKIM key rotation (dkim-rotation.ts).
  'dkim.rotation_started',
  'dkim.activated',
  'dkim.retired',
] as const;
export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];
/** The events of a DKIM key rotation (dkim-rotation.ts); they name the selector. */
export type DkimEventType = Extract<DomainEventType, `dkim.${string}`>;

/** Bookkeeping the state machine keeps between checks. */
export interface CheckState {
  /** Checks run in the current propagation window (indexes PROPAGATION_SCHEDULE). */
  attempts: number;
  /** First definitive failure of a verified domain, awaiting its confirming re-check. */
  failingSince: Date | null;
  /** Start of an unbroken run of temperrors. */
  temperrorSince: Date | null;
  consecutiveTemperrors: number;
  degradedNotified: boolean;
}

export const INITIAL_CHECK_STATE: CheckState = {
  attempts: 0,
  failingSince: null,
  temperrorSince: null,
  consecutiveTemperrors: 0,
  degradedNotified: false,
};

export interface StateDomain {
  status: DomainStatus;
  approval: ApprovalState;
  deadlineAt: Date;
  verifiedAt: Date | null;
  suspendedAt: Date | null;
  checkState: CheckState;
}

export interface StatePolicy {
  propagationScheduleMs: number[];
  recheckIntervalMs: number;
  confirmDelayMs: number;
  degradedAfterMs: number;
  approvalMode: 'manual' | 'auto';
  /** Spreads a delay so that domains registered together do not stay in lockstep. */
  jitter: (ms: number) => number;
}

export interface Transition {
  changes: {
    status?: DomainStatus;
    approval?: ApprovalState;
    verifiedAt?: Date | null;
    suspendedAt?: Date | null;
    nextCheckAt: Date | null;
    lastCheckedAt: Date;
    checkState: CheckState;
  };
  events: DomainEventType[];
}

const after = (now: Date, ms: number) => new Date(now.getTime() + ms);

/** Temperror back-off: the first schedule step, doubling, never past the recheck interval. */
function temperrorDelay(policy: StatePolicy, consecutive: number): number {
  const base = policy.propagationScheduleMs[0] ?? 60_000;
  return Math.min(policy.recheckIntervalMs, base * 2 ** Math.min(consecutive - 1, 16));
}

/**
 * The verification state machine (DESIGN §3) as a pure function of the domain, one
 * check verdict and the time. Every transition yields exactly one event.
 */
export function applyCheck(domain: StateDomain, verdict: Verdict, now: Date, policy: StatePolicy): Transition {
  const prev = domain.checkState ?? INITIAL_CHECK_STATE;
  const cs: CheckState = { ...prev, attempts: prev.attempts + 1 };
  const events: DomainEventType[] = [];
  const base = { lastCheckedAt: now };

  if (verdict === 'temperror') {
    // A temperror never changes state: it brings the next check forward and may degrade.
    cs.consecutiveTemperrors = prev.consecutiveTemperrors + 1;
    cs.temperrorSince = prev.temperrorSince ?? now;
    if (!prev.degradedNotified && now.getTime() - cs.temperrorSince.getTime() >= policy.degradedAfterMs) {
      cs.degradedNotified = true;
      events.push('domain.check_degraded');
    }
    let next = after(now, policy.jitter(temperrorDelay(policy, cs.consecutiveTemperrors)));
    if (domain.status === 'pending' && next > domain.deadlineAt && now < domain.deadlineAt) next = domain.deadlineAt;
    if (domain.status === 'verified' && prev.failingSince) {
      const confirmAt = after(prev.failingSince, policy.confirmDelayMs);
      if (confirmAt < next) next = confirmAt > now ? confirmAt : next;
    }
    return { changes: { ...base, nextCheckAt: next, checkState: cs }, events };
  }

  cs.consecutiveTemperrors = 0;
  cs.temperrorSince = null;
  cs.degradedNotified = false;
  const recheck = () => after(now, policy.jitter(policy.recheckIntervalMs));

  if (verdict === 'pass') {
    cs.failingSince = null;
    if (domain.status === 'pending' || domain.status === 'suspended') {
      const approval = policy.approvalMode === 'auto' && domain.approval !== 'rejected' ? 'approved' : domain.approval;
      events.push(domain.status === 'pending' ? 'domain.verified' : 'domain.reinstated');
      return {
        changes: { ...base, status: 'verified', approval, verifiedAt: now, suspendedAt: null, nextCheckAt: recheck(), checkState: cs },
        events,
      };
    }
    return { changes: { ...base, nextCheckAt: domain.status === 'failed' ? null : recheck(), checkState: cs }, events };
  }

  // verdict === 'fail'
  switch (domain.status) {
    case 'pending': {
      if (now >= domain.deadlineAt) {
        events.push('domain.verification_failed');
        return { changes: { ...base, status: 'failed', nextCheckAt: null, checkState: cs }, events };
      }
      const schedule = policy.propagationScheduleMs;
      const step = schedule[Math.min(prev.attempts, schedule.length - 1)];
      const next = after(now, policy.jitter(step));
      return { changes: { ...base, nextCheckAt: next > domain.deadlineAt ? domain.deadlineAt : next, checkState: cs }, events };
    }
    case 'verified': {
      if (!prev.failingSince) {
        cs.failingSince = now;
        return { changes: { ...base, nextCheckAt: after(now, policy.confirmDelayMs), checkState: cs }, events };
      }
      const confirmAt = after(prev.failingSince, policy.confirmDelayMs);
      if (now < confirmAt) return { changes: { ...base, nextCheckAt: confirmAt, checkState: cs }, events };
      cs.failingSince = null;
      events.push('domain.suspended');
      return { changes: { ...base, status: 'suspended', suspendedAt: now, nextCheckAt: recheck(), checkState: cs }, events };
    }
    case 'suspended':
      return { changes: { ...base, nextCheckAt: recheck(), checkState: cs }, events };
    case 'failed':
      return { changes: { ...base, nextCheckAt: null, checkState: cs }, events };
  }
}

/** Whether mail may be sent for a domain, and why not. */
export interface SendingDecision {
  allowed: boolean;
  reason: string;
}

/**
 * THE sending rule (DESIGN §3): only a verified and approved domain may send. The
 * SendingPolicy service applies it for the relay and /v1/policy; the domain resource
 * shows it.
 */
export function sendingDecision(d: { status: DomainStatus; approval: ApprovalState }): SendingDecision {
  if (d.status === 'suspended') return { allowed: false, reason: 'domain is suspended: its DNS records no longer verify' };
  if (d.status === 'failed') return { allowed: false, reason: 'verification failed: the records were not found within the propagation window' };
  if (d.status === 'pending') return { allowed: false, reason: 'domain is not verified yet' };
  if (d.approval === 'approved') return { allowed: true, reason: 'verified and approved' };
  if (d.approval === 'rejected') return { allowed: false, reason: 'sending was rejected in review' };
  if (d.approval === 'pending_review') return { allowed: false, reason: 'awaiting review of the questionnaire' };
  return { allowed: false, reason: 'questionnaire not submitted' };
}

/** What an owner or admin can do to a domain's approval (the seed's manual review). */
export type ApprovalAction = 'submit' | 'approve' | 'reject';

/**
 * The approval transitions: from which states each action may start, and where it ends.
 * New answers always need a new review, even after an approval. An approval may be
 * granted before any answers (the operator reviewed the sender by other means); a
 * rejection needs answers to reject or an approval to revoke.
 */
export const APPROVAL_TRANSITIONS: Record<ApprovalAction, { from: readonly ApprovalState[]; to: ApprovalState }> = {
  submit: { from: APPROVAL_STATES, to: 'pending_review' },
  approve: { from: APPROVAL_STATES, to: 'approved' },
  reject: { from: ['pending_review', 'approved', 'rejected'], to: 'rejected' },
};

/** The approval after `action`, or null when the action is not allowed from `current`. */
export function applyApproval(current: ApprovalState, action: ApprovalAction): ApprovalState | null {
  const t = APPROVAL_TRANSITIONS[action];
  return t.from.includes(current) ? t.to : null;
}

/** The fields that open a new propagation window. */
export interface Reopening {
  status: 'pending';
  startedAt: Date;
  deadlineAt: Date;
  checkState: CheckState;
  nextCheckAt: Date;
}

/**
 * "Verify now" on a `failed` domain opens a new window (DESIGN §3, failed → pending);
 * null for every other status, where verify only brings the next check forward.
 */
export function reopen(domain: Pick<StateDomain, 'status'>, now: Date, propagationWindowMs: number): Reopening | null {
  if (domain.status !== 'failed') return null;
  return {
    status: 'pending',
    startedAt: now,
    deadlineAt: after(now, propagationWindowMs),
    checkState: INITIAL_CHECK_STATE,
    nextCheckAt: now,
  };
}

/** ±10% random jitter. */
export const randomJitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));
