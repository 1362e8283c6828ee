import type { ApprovalState, DomainStatus } from './domain.model';

export const DOMAIN_EVENT_TYPES = [
  'domain.verified',
  'domain.verification_failed',
  'domain.suspended',
  'domain.reinstated',
  'domain.check_degraded',
] as const;
export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

export type CheckVerdict = 'pass' | 'fail' | 'temperror';

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
export function applyCheck(domain: StateDomain, verdict: CheckVerdict, now: Date, policy: StatePolicy): Transition {
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

/** ±10% random jitter. */
export const randomJitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));
