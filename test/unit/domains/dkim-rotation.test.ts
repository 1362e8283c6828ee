import {
  applyRotation,
  cancelRotation,
  checkedSelectors,
  domainVerdict,
  dueForAutoRotation,
  rotatableSince,
  rotationConflict,
  rotationNextCheck,
  startRotation,
  type RotationPolicy,
  type RotationSelector,
} from '../../../src/domains/dkim-rotation';
import type { Verdict } from '../../../src/verification/verdict';

const H = 3600_000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const policy: RotationPolicy = {
  retireAfterMs: 7 * 24 * H,
  propagationScheduleMs: [60_000, 120_000, 300_000],
  propagationWindowMs: 72 * H,
  keepRetired: 2,
};
const sel = (selector: string, status: RotationSelector['status'], over: Partial<RotationSelector> = {}): RotationSelector => ({
  selector,
  status,
  createdAt: at(0),
  ...over,
});
const verdicts = (v: Record<string, Verdict>) => new Map(Object.entries(v));
/** `selector:state` pairs, in order. */
const states = (selectors: RotationSelector[]) => selectors.map((s) => `${s.selector}:${s.status}`);

describe('applyRotation: the DKIM rotation rules', () => {
  const retiring = (retiresAt: Date) => sel('old', 'retiring', { retiresAt });
  it.each([
    // [label, selectors, verdicts, now, expected selector states, events]
    ['a single active selector never moves', [sel('a', 'active')], { a: 'fail' }, at(H), ['a:active'], []],
    ['pending + fail stays pending', [sel('a', 'active'), sel('b', 'pending')], { a: 'pass', b: 'fail' }, at(H), ['a:active', 'b:pending'], []],
    ['pending + temperror stays pending', [sel('a', 'active'), sel('b', 'pending')], { a: 'pass', b: 'temperror' }, at(H), ['a:active', 'b:pending'], []],
    ['pending without a verdict (not checked) stays pending', [sel('a', 'active'), sel('b', 'pending')], {}, at(H), ['a:active', 'b:pending'], []],
    [
      'pending + pass → active, and the active one retires',
      [sel('a', 'active'), sel('b', 'pending')],
      { a: 'pass', b: 'pass' },
      at(H),
      ['a:retiring', 'b:active'],
      [{ type: 'dkim.activated', selector: 'b' }],
    ],
    [
      'pending + pass activates even when the old record is gone already',
      [sel('a', 'active'), sel('b', 'pending')],
      { a: 'fail', b: 'pass' },
      at(H),
      ['a:retiring', 'b:active'],
      [{ type: 'dkim.activated', selector: 'b' }],
    ],
    ['retiring before retiresAt stays retiring, whatever its verdict', [retiring(at(2 * H)), sel('b', 'active')], { old: 'fail', b: 'pass' }, at(2 * H - 1), ['old:retiring', 'b:active'], []],
    [
      'retiring at retiresAt → retired',
      [retiring(at(2 * H)), sel('b', 'active')],
      { old: 'pass', b: 'pass' },
      at(2 * H),
      ['old:retired', 'b:active'],
      [{ type: 'dkim.retired', selector: 'old' }],
    ],
    [
      'a second rotation activates while the first old key still retires',
      [retiring(at(2 * H)), sel('b', 'active'), sel('c', 'pending')],
      { c: 'pass' },
      at(H),
      ['old:retiring', 'b:retiring', 'c:active'],
      [{ type: 'dkim.activated', selector: 'c' }],
    ],
  ] as const)('%s', (_label, selectors, v, now, expected, events) => {
    const step = applyRotation([...selectors], verdicts(v as Record<string, Verdict>), now, policy);
    expect(states(step.selectors)).toEqual(expected);
    expect(step.events).toEqual(events);
    // Always exactly one selector signs.
    expect(step.selectors.filter((s) => s.status === 'active')).toHaveLength(1);
  });

  it('sets activatedAt on the new key and retiresAt (now + DKIM_RETIRE_AFTER_MS) on the old one', () => {
    const step = applyRotation([sel('a', 'active'), sel('b', 'pending')], verdicts({ b: 'pass' }), at(H), policy);
    expect(step.selectors[1].activatedAt).toEqual(at(H));
    expect(step.selectors[0].retiresAt).toEqual(at(H + policy.retireAfterMs));
    expect(step.nextCheckAt).toEqual(at(H + policy.retireAfterMs));
  });

  it('retires at once with DKIM_RETIRE_AFTER_MS=0', () => {
    const step = applyRotation([sel('a', 'active'), sel('b', 'pending')], verdicts({ b: 'pass' }), at(H), { ...policy, retireAfterMs: 0 });
    expect(states(step.selectors)).toEqual(['a:retired', 'b:active']);
    expect(step.events.map((e) => e.type)).toEqual(['dkim.activated', 'dkim.retired']);
  });

  it('keeps only the newest retired selectors (keepRetired)', () => {
    const old = [1, 2, 3].map((i) => sel(`r${i}`, 'retired', { retiredAt: at(i) }));
    const step = applyRotation([...old, sel('x', 'retiring', { retiresAt: at(10) }), sel('b', 'active')], verdicts({}), at(10), policy);
    expect(states(step.selectors)).toEqual(['r3:retired', 'x:retired', 'b:active']);
  });

  it('never changes the selectors it was given', () => {
    const given = [sel('a', 'active'), sel('b', 'pending')];
    applyRotation(given, verdicts({ b: 'pass' }), at(H), policy);
    expect(states(given)).toEqual(['a:active', 'b:pending']);
  });
});

describe('starting and cancelling a rotation', () => {
  it.each([
    ['one active selector may rotate', [sel('a', 'active')], null],
    ['a retiring selector does not block a new rotation', [sel('a', 'retiring'), sel('b', 'active')], null],
    ['a pending rotation blocks another', [sel('a', 'active'), sel('b', 'pending')], /already in flight: selector b is pending/],
    ['no active selector: nothing to rotate', [sel('a', 'retired')], /no active DKIM selector/],
    ['two retiring selectors do not block a new rotation', [sel('a', 'retiring'), sel('b', 'retiring'), sel('c', 'active')], null],
    [
      'three retiring selectors block another (each rotation adds one, every one is checked)',
      [sel('a', 'retiring'), sel('b', 'retiring'), sel('c', 'retiring'), sel('d', 'active')],
      /3 selectors are still retiring/,
    ],
  ] as const)('%s', (_label, selectors, conflict) => {
    const c = rotationConflict([...selectors]);
    if (conflict === null) expect(c).toBeNull();
    else expect(c).toMatch(conflict);
  });

  it('adds the new selector as pending with a dkim.rotation_started event', () => {
    const step = startRotation([sel('a', 'active')], sel('b', 'active', { createdAt: at(H) }));
    expect(states(step.selectors)).toEqual(['a:active', 'b:pending']);
    expect(step.events).toEqual([{ type: 'dkim.rotation_started', selector: 'b' }]);
    expect(() => startRotation(step.selectors, sel('c', 'pending'))).toThrow(/already in flight/);
  });

  it.each([
    ['removes the pending selector', [sel('a', 'active'), sel('b', 'pending')], { cancelled: 'b', states: ['a:active'] }],
    ['409 once the rotation took effect', [sel('a', 'retiring'), sel('b', 'active')], /selector b is active, and a rotation that took effect cannot be cancelled/],
    ['409 when no rotation was started', [sel('a', 'active')], /^no rotation is pending$/],
  ] as const)('cancel: %s', (_label, selectors, expected) => {
    const r = cancelRotation([...selectors]);
    if (expected instanceof RegExp) {
      expect('conflict' in r && r.conflict).toMatch(expected);
    } else {
      expect('cancelled' in r && { cancelled: r.cancelled, states: states(r.selectors) }).toEqual(expected);
    }
  });
});

describe('what a check asks and what decides the domain', () => {
  const selectors = [sel('old', 'retiring'), sel('cur', 'active'), sel('new', 'pending'), sel('gone', 'retired')];
  const rec = (purpose: string, selector: string | null, status: Verdict) => ({ purpose, selector, status });

  it('checks every selector but the retired', () => {
    expect(checkedSelectors(selectors).map((s) => s.selector)).toEqual(['old', 'cur', 'new']);
  });

  it.each([
    ['SPF and the active key pass: pass, whatever the others say', [rec('spf', null, 'pass'), rec('dkim', 'cur', 'pass'), rec('dkim', 'old', 'fail'), rec('dkim', 'new', 'fail')], 'pass'],
    ['the active key fails: fail', [rec('spf', null, 'pass'), rec('dkim', 'cur', 'fail'), rec('dkim', 'new', 'pass')], 'fail'],
    ['SPF fails: fail', [rec('spf', null, 'fail'), rec('dkim', 'cur', 'pass')], 'fail'],
    ['the active key is a temperror: temperror', [rec('spf', null, 'pass'), rec('dkim', 'cur', 'temperror'), rec('dkim', 'old', 'fail')], 'temperror'],
    ['records of other purposes count', [rec('spf', null, 'pass'), rec('dkim', 'cur', 'pass'), rec('return-path', null, 'fail')], 'fail'],
  ] as const)('%s', (_label, records, verdict) => {
    expect(domainVerdict([...records], selectors)).toBe(verdict);
  });
});

describe('the rotation cadence', () => {
  it.each([
    // [label, selectors, now, expected next check (ms after t0) or null]
    ['nothing pending or retiring: no need', [sel('a', 'active')], at(H), null],
    ['pending: the first step of PROPAGATION_SCHEDULE after its creation', [sel('a', 'active'), sel('b', 'pending')], at(0), 60_000],
    ['pending: the next point of the schedule', [sel('a', 'active'), sel('b', 'pending')], at(90_000), 180_000],
    ['pending: the last step repeats', [sel('a', 'active'), sel('b', 'pending')], at(500_000), 780_000],
    ['pending past PROPAGATION_WINDOW_MS: the domain cadence', [sel('a', 'active'), sel('b', 'pending')], at(72 * H), null],
    ['retiring: its retirement', [sel('a', 'retiring', { retiresAt: at(5 * H) }), sel('b', 'active')], at(H), 5 * H],
  ] as const)('%s', (_label, selectors, now, expected) => {
    const next = rotationNextCheck([...selectors], now, policy);
    expect(next).toEqual(expected === null ? null : at(expected));
  });
});

describe('automatic rotation (DKIM_AUTO_ROTATE_AFTER_MS)', () => {
  const D = 24 * H;
  it.each([
    ['an active key older than the limit is due', [sel('a', 'active', { activatedAt: at(0) })], at(90 * D), true],
    ['a younger one is not', [sel('a', 'active', { activatedAt: at(10 * D) })], at(90 * D), false],
    ['age counts from activation, not creation', [sel('a', 'active', { createdAt: at(0), activatedAt: at(5 * D) })], at(90 * D), false],
    ['a key issued before rotation existed counts from its creation', [sel('a', 'active')], at(90 * D), true],
    ['never while a rotation is pending', [sel('a', 'active'), sel('b', 'pending')], at(200 * D), false],
  ] as const)('%s', (_label, selectors, now, due) => {
    expect(dueForAutoRotation([...selectors], now, 90 * D)).toBe(due);
  });

  it('indexes the domain by when its active key took over, null while pending', () => {
    expect(rotatableSince([sel('a', 'active', { activatedAt: at(7) })])).toEqual(at(7));
    expect(rotatableSince([sel('a', 'active'), sel('b', 'pending')])).toBeNull();
  });

  it('counts from the last cancel when that is later, so that a cancelled automatic rotation does not start again at once', () => {
    const active = [sel('a', 'active', { activatedAt: at(0) })];
    expect(rotatableSince(active, at(50 * D))).toEqual(at(50 * D));
    expect(rotatableSince(active, null)).toEqual(at(0));
    expect(dueForAutoRotation(active, at(100 * D), 90 * D, at(50 * D))).toBe(false);
    expect(dueForAutoRotation(active, at(140 * D), 90 * D, at(50 * D))).toBe(true);
    // A key activated after the cancel counts from its activation.
    expect(rotatableSince([sel('b', 'active', { activatedAt: at(60 * D) })], at(50 * D))).toEqual(at(60 * D));
  });

  it('leaves out of the index a domain that may not rotate now (too many retiring), so it never holds up the others', () => {
    const full = [sel('a', 'retiring'), sel('b', 'retiring'), sel('c', 'retiring'), sel('d', 'active', { activatedAt: at(0) })];
    expect(rotatableSince(full)).toBeNull();
    expect(dueForAutoRotation(full, at(200 * D), 90 * D)).toBe(false);
    expect(rotatableSince(full.slice(1))).toEqual(at(0));
  });
});
