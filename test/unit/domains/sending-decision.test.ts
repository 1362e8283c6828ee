import { APPROVAL_STATES, DOMAIN_STATUSES, sendingDecision } from '../../../src/domains/domain-state';

describe('sendingDecision', () => {
  // DESIGN §3: sending is allowed only if status = verified and approval = approved.
  const matrix = DOMAIN_STATUSES.flatMap((status) =>
    APPROVAL_STATES.map((approval) => [status, approval, status === 'verified' && approval === 'approved'] as const),
  );

  it('covers every status × approval pair', () => {
    expect(matrix).toHaveLength(16);
  });

  it.each(matrix)('status %s, approval %s → allowed %p', (status, approval, allowed) => {
    const decision = sendingDecision({ status, approval });
    expect(decision.allowed).toBe(allowed);
    expect(decision.reason).toEqual(expect.any(String));
    expect(decision.reason.length).toBeGreaterThan(0);
  });

  it.each([
    ['pending', 'approved', /not verified/],
    ['failed', 'approved', /verification failed/],
    ['suspended', 'approved', /suspended/],
    ['verified', 'not_submitted', /questionnaire not submitted/],
    ['verified', 'pending_review', /review/],
    ['verified', 'rejected', /rejected/],
    ['verified', 'approved', /verified and approved/],
  ] as const)('explains status %s, approval %s with %p', (status, approval, reason) => {
    expect(sendingDecision({ status, approval }).reason).toMatch(reason);
  });
});
