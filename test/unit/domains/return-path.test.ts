import { INITIAL_CHECK_STATE, type StatePolicy } from '../../../src/domains/domain-state';
import { applyReturnPathCheck, newReturnPath, parseReturnPathSubdomain, returnPathDecision, type ReturnPathDoc } from '../../../src/domains/return-path';

const H = 3600_000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const policy: StatePolicy = {
  propagationScheduleMs: [60_000],
  recheckIntervalMs: H,
  confirmDelayMs: 600_000,
  degradedAfterMs: 2 * H,
  approvalMode: 'manual',
  jitter: (ms) => ms,
};
const rp = (over: Partial<ReturnPathDoc> = {}): ReturnPathDoc => ({ ...newReturnPath('bounce.example.com', 'reject', 'mx.mw.test', t0, 72 * H), ...over });

describe('parseReturnPathSubdomain', () => {
  it.each([
    ['Bounce.Example.com.', { ok: true, subdomain: 'bounce.example.com' }],
    ['a.b.example.com', { ok: true, subdomain: 'a.b.example.com' }],
  ])('takes %s', (input, out) => expect(parseReturnPathSubdomain('example.com', input)).toEqual(out));

  it.each(['example.com', 'notexample.com', 'bounce.example.org', 'bounce..example.com', '192.0.2.1', ''])('refuses %j', (input) => {
    expect(parseReturnPathSubdomain('example.com', input).ok).toBe(false);
  });
});

describe('applyReturnPathCheck: the domain state machine on the return path', () => {
  it.each([
    // [label, return path, verdict, now, status after, mode after]
    ['pending + pass → verified: VERP', rp(), 'pass', at(0), 'verified', 'verp'],
    ['pending + fail inside the window stays pending: the fallback', rp(), 'fail', at(H), 'pending', 'reject'],
    ['pending + fail at its deadline → failed', rp(), 'fail', at(72 * H), 'failed', 'reject'],
    ['pending + temperror changes nothing', rp(), 'temperror', at(72 * H), 'pending', 'reject'],
    ['verified + first fail stays verified (awaits confirmation)', rp({ status: 'verified' }), 'fail', at(0), 'verified', 'verp'],
    ['verified + temperror stays verified', rp({ status: 'verified' }), 'temperror', at(0), 'verified', 'verp'],
    [
      'verified + confirming fail → suspended: the fallback',
      rp({ status: 'verified', checkState: { ...INITIAL_CHECK_STATE, failingSince: at(0) } }),
      'fail',
      at(600_000),
      'suspended',
      'reject',
    ],
  ] as const)('%s', (_label, before, verdict, now, status, mode) => {
    const after = applyReturnPathCheck(before, verdict, now, policy);
    expect(after.status).toBe(status);
    expect(returnPathDecision(after).mode).toBe(mode);
    expect(after).not.toHaveProperty('approval');
    expect(after.subdomain).toBe('bounce.example.com');
  });

  it('uses the sender when there is no return path', () => {
    expect(returnPathDecision(null)).toEqual({ mode: 'use_sender', subdomain: null });
    expect(returnPathDecision(rp({ fallback: 'use_sender' })).mode).toBe('use_sender');
  });
});
