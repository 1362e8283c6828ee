import { APPROVAL_STATES, applyApproval, applyCheck, DOMAIN_STATUSES, INITIAL_CHECK_STATE, reopen, type StateDomain, type StatePolicy } from '../../../src/domains/domain-state';

const H = 3600_000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const policy: StatePolicy = {
  propagationScheduleMs: [60_000, 120_000, 300_000],
  recheckIntervalMs: H,
  confirmDelayMs: 600_000,
  degradedAfterMs: 2 * H,
  approvalMode: 'manual',
  jitter: (ms) => ms,
};
const domain = (over: Partial<StateDomain> = {}): StateDomain => ({
  status: 'pending',
  approval: 'not_submitted',
  deadlineAt: at(72 * H),
  verifiedAt: null,
  suspendedAt: null,
  checkState: { ...INITIAL_CHECK_STATE },
  ...over,
});

describe('applyCheck: the verification state machine', () => {
  it.each([
    // [label, domain, verdict, now, expected status (undefined = unchanged), events]
    ['pending + pass → verified', domain(), 'pass', at(0), 'verified', ['domain.verified']],
    ['pending + fail inside the window stays pending', domain(), 'fail', at(H), undefined, []],
    ['pending + fail at the deadline → failed', domain(), 'fail', at(72 * H), 'failed', ['domain.verification_failed']],
    ['pending + temperror at the deadline stays pending', domain(), 'temperror', at(72 * H), undefined, []],
    ['verified + pass stays verified', domain({ status: 'verified' }), 'pass', at(0), undefined, []],
    ['verified + first fail waits for confirmation', domain({ status: 'verified' }), 'fail', at(0), undefined, []],
    [
      'verified + confirming fail → suspended',
      domain({ status: 'verified', checkState: { ...INITIAL_CHECK_STATE, failingSince: at(0) } }),
      'fail',
      at(600_000),
      'suspended',
      ['domain.suspended'],
    ],
    [
      'verified + second fail too early does not suspend',
      domain({ status: 'verified', checkState: { ...INITIAL_CHECK_STATE, failingSince: at(0) } }),
      'fail',
      at(599_999),
      undefined,
      [],
    ],
    ['verified + temperror never suspends', domain({ status: 'verified' }), 'temperror', at(0), undefined, []],
    ['suspended + pass → verified (reinstated)', domain({ status: 'suspended' }), 'pass', at(0), 'verified', ['domain.reinstated']],
    ['suspended + fail stays suspended', domain({ status: 'suspended' }), 'fail', at(0), undefined, []],
    ['failed + pass stays failed', domain({ status: 'failed' }), 'pass', at(0), undefined, []],
  ] as const)('%s', (_label, d, verdict, now, status, events) => {
    const t = applyCheck(d, verdict, now, policy);
    expect(t.changes.status).toBe(status);
    expect(t.events).toEqual(events);
    expect(t.changes.lastCheckedAt).toEqual(now);
  });

  it('follows PROPAGATION_SCHEDULE while pending, repeating the last step, never past the deadline', () => {
    let d = domain({ deadlineAt: at(10 * 60_000) });
    const gaps: number[] = [];
    let now = at(0);
    for (let i = 0; i < 4; i++) {
      const t = applyCheck(d, 'fail', now, policy);
      gaps.push(t.changes.nextCheckAt!.getTime() - now.getTime());
      now = t.changes.nextCheckAt!;
      d = { ...d, checkState: t.changes.checkState };
    }
    // 1m, 2m, 5m, then the 5m step is cut to the deadline at 10m, where the last check fails it.
    expect(gaps).toEqual([60_000, 120_000, 300_000, 120_000]);
    expect(now).toEqual(at(10 * 60_000));
    const last = applyCheck(d, 'fail', now, policy);
    expect(last.changes).toMatchObject({ status: 'failed', nextCheckAt: null });
  });

  it('rechecks a verified domain after RECHECK_INTERVAL_MS and confirms a failure after CONFIRM_DELAY_MS', () => {
    expect(applyCheck(domain({ status: 'verified' }), 'pass', at(0), policy).changes.nextCheckAt).toEqual(at(H));
    const first = applyCheck(domain({ status: 'verified' }), 'fail', at(0), policy);
    expect(first.changes.nextCheckAt).toEqual(at(600_000));
    expect(first.changes.checkState.failingSince).toEqual(at(0));
  });

  it('a pass clears a pending confirmation', () => {
    const t = applyCheck(domain({ status: 'verified', checkState: { ...INITIAL_CHECK_STATE, failingSince: at(0) } }), 'pass', at(60_000), policy);
    expect(t.changes.checkState.failingSince).toBeNull();
    expect(t.events).toEqual([]);
  });

  it('backs off temperrors and emits domain.check_degraded once after DEGRADED_AFTER_MS', () => {
    let d = domain({ status: 'verified' });
    let now = at(0);
    const events: string[] = [];
    const gaps: number[] = [];
    while (now < at(5 * H)) {
      const t = applyCheck(d, 'temperror', now, policy);
      events.push(...t.events);
      gaps.push(t.changes.nextCheckAt!.getTime() - now.getTime());
      d = { ...d, checkState: t.changes.checkState };
      now = t.changes.nextCheckAt!;
    }
    expect(events).toEqual(['domain.check_degraded']);
    expect(gaps.slice(0, 4)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(Math.max(...gaps)).toBe(H);
    // A definitive answer resets the run, so a later outage degrades again.
    const ok = applyCheck(d, 'pass', now, policy);
    expect(ok.changes.checkState).toMatchObject({ temperrorSince: null, degradedNotified: false, consecutiveTemperrors: 0 });
  });

  it('approves on verification with APPROVAL_MODE=auto, but never overrides a rejection', () => {
    const auto = { ...policy, approvalMode: 'auto' as const };
    expect(applyCheck(domain(), 'pass', at(0), auto).changes.approval).toBe('approved');
    expect(applyCheck(domain({ approval: 'rejected' }), 'pass', at(0), auto).changes.approval).toBe('rejected');
    expect(applyCheck(domain(), 'pass', at(0), policy).changes.approval).toBe('not_submitted');
  });
});

describe('reopen: verify on a failed domain (failed → pending)', () => {
  it.each(DOMAIN_STATUSES.map((s) => [s] as const))('status %s', (status) => {
    const r = reopen({ status }, at(100 * H), 72 * H);
    if (status !== 'failed') return expect(r).toBeNull();
    expect(r).toEqual({
      status: 'pending',
      startedAt: at(100 * H),
      deadlineAt: at(172 * H),
      checkState: INITIAL_CHECK_STATE,
      nextCheckAt: at(100 * H),
    });
  });
});

describe('applyApproval: the seed manual review', () => {
  // [from, action, to (null = refused)]
  const table = [
    ['not_submitted', 'submit', 'pending_review'],
    ['pending_review', 'submit', 'pending_review'],
    ['approved', 'submit', 'pending_review'],
    ['rejected', 'submit', 'pending_review'],
    ['not_submitted', 'approve', 'approved'],
    ['pending_review', 'approve', 'approved'],
    ['approved', 'approve', 'approved'],
    ['rejected', 'approve', 'approved'],
    ['not_submitted', 'reject', null],
    ['pending_review', 'reject', 'rejected'],
    ['approved', 'reject', 'rejected'],
    ['rejected', 'reject', 'rejected'],
  ] as const;

  it('covers every approval state × action', () => {
    expect(new Set(table.map(([from, action]) => `${from}/${action}`)).size).toBe(APPROVAL_STATES.length * 3);
  });

  it.each(table)('%s + %s → %p', (from, action, to) => {
    expect(applyApproval(from, action)).toBe(to);
  });
});
