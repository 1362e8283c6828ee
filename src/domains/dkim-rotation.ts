import type { Verdict } from '../verification/verdict';
import { overall } from '../verification/verification-result';
import type { DkimEventType } from './domain-state';

/**
 * DKIM key rotation (DESIGN §6) as pure rules over a domain's selectors, like
 * domain-state.ts for the domain itself:
 *
 * | from | to | when | event |
 * |---|---|---|---|
 * | (none) | pending | the owner (or the auto-rotation sweep) starts a rotation; none is pending | `dkim.rotation_started` |
 * | pending | (removed) | the owner cancels the rotation | |
 * | pending | active | its record passes on every nameserver that answered (the rules of any DKIM check) | `dkim.activated` |
 * | active | retiring | the selector that replaced it became active (same write) | |
 * | retiring | retired | `retiresAt` (activation + DKIM_RETIRE_AFTER_MS) passed | `dkim.retired` |
 *
 * Signing uses the active selector only, so there is always exactly one: activation swaps
 * the two in one write. A retiring selector is still checked, but only the active one (and
 * SPF) decides the domain's verdict: its record may go away without suspending the domain.
 */

/** A selector's place in its rotation. */
export const DKIM_SELECTOR_STATES = ['pending', 'active', 'retiring', 'retired'] as const;
export type DkimSelectorState = (typeof DKIM_SELECTOR_STATES)[number];

/** What the rules read and write of a selector (DkimSelectorDoc has these fields and more). */
export interface RotationSelector {
  selector: string;
  status: DkimSelectorState;
  createdAt: Date;
  /** When it became active; absent on selectors issued before rotation existed (read as createdAt). */
  activatedAt?: Date | null;
  /** When a retiring selector retires. */
  retiresAt?: Date | null;
  retiredAt?: Date | null;
}

export interface RotationPolicy {
  /** DKIM_RETIRE_AFTER_MS. */
  retireAfterMs: number;
  /** PROPAGATION_SCHEDULE: how often a pending selector is checked after its rotation starts. */
  propagationScheduleMs: number[];
  /** PROPAGATION_WINDOW_MS: after this, a pending selector is checked at the domain's own cadence. */
  propagationWindowMs: number;
  /** Retired selectors kept for the record (newest first); older ones are dropped. */
  keepRetired: number;
}

export interface RotationEvent {
  type: DkimEventType;
  selector: string;
}

export interface RotationStep<S extends RotationSelector> {
  selectors: S[];
  events: RotationEvent[];
  /** The latest time the rotation needs its next check (a pending selector, a retirement due); null: no need. */
  nextCheckAt: Date | null;
}

const ms = (d: Date | null | undefined) => (d ? new Date(d).getTime() : 0);

/** The active selector (the newest, should a legacy document have several). */
export function activeSelector<S extends RotationSelector>(selectors: S[]): S | undefined {
  return selectors.filter((s) => s.status === 'active').sort((a, b) => ms(b.createdAt) - ms(a.createdAt))[0];
}

/** The selector of the rotation in flight, if any. */
export function pendingSelector<S extends RotationSelector>(selectors: S[]): S | undefined {
  return selectors.find((s) => s.status === 'pending');
}

/** When the active key took over (its creation for selectors issued before rotation existed). */
export function activeSince(selectors: RotationSelector[]): Date | null {
  const active = activeSelector(selectors);
  return active ? new Date(active.activatedAt ?? active.createdAt) : null;
}

/**
 * Retiring selectors a domain may have when a rotation starts. Each rotation that takes
 * effect leaves one retiring for DKIM_RETIRE_AFTER_MS, and every check queries each of them:
 * without a cap, rotating again and again would grow the domain and its checks without bound.
 */
export const MAX_RETIRING_SELECTORS = 3;

/**
 * Why a rotation cannot start now (409), or null when it can: at most one is in flight,
 * there must be an active key to rotate away from, and fewer than MAX_RETIRING_SELECTORS
 * retiring ones.
 */
export function rotationConflict(selectors: RotationSelector[]): string | null {
  const pending = pendingSelector(selectors);
  if (pending) return `a rotation is already in flight: selector ${pending.selector} is pending; cancel it or wait until it is active`;
  if (!activeSelector(selectors)) return 'the domain has no active DKIM selector to rotate';
  const retiring = selectors.filter((s) => s.status === 'retiring');
  if (retiring.length >= MAX_RETIRING_SELECTORS) {
    const next = retiring.map((s) => ms(s.retiresAt)).filter((t) => t > 0).sort((a, b) => a - b)[0];
    const when = next ? ` (the next one retires at ${new Date(next).toISOString()})` : '';
    return `${retiring.length} selectors are still retiring; wait until one retires${when}`;
  }
  return null;
}

/** Adds `next` as the pending selector; throws if rotationConflict says no (callers check first). */
export function startRotation<S extends RotationSelector>(selectors: S[], next: S): RotationStep<S> {
  const conflict = rotationConflict(selectors);
  if (conflict) throw new Error(conflict);
  return { selectors: [...selectors, { ...next, status: 'pending' }], events: [{ type: 'dkim.rotation_started', selector: next.selector }], nextCheckAt: null };
}

/**
 * The selectors without the pending one, or a reason (409) when nothing can be cancelled:
 * no rotation was started, or it already took effect.
 */
export function cancelRotation<S extends RotationSelector>(selectors: S[]): { selectors: S[]; cancelled: string } | { conflict: string } {
  const pending = pendingSelector(selectors);
  if (pending) return { selectors: selectors.filter((s) => s !== pending), cancelled: pending.selector };
  const active = activeSelector(selectors);
  const rotated = selectors.some((s) => s.status === 'retiring' || s.status === 'retired');
  if (active && rotated) return { conflict: `no rotation is pending: selector ${active.selector} is active, and a rotation that took effect cannot be cancelled` };
  return { conflict: 'no rotation is pending' };
}

/** The next point of PROPAGATION_SCHEDULE after `elapsed` ms since the rotation started (the last step repeats). */
function nextScheduledMs(schedule: number[], elapsed: number): number {
  const steps = schedule.length ? schedule : [60_000];
  let at = 0;
  for (const step of steps) {
    at += step;
    if (at > elapsed) return at;
  }
  const last = steps[steps.length - 1];
  return at + Math.ceil((elapsed - at + 1) / last) * last;
}

/**
 * One check's effect on the rotation: a pending selector whose record passed becomes
 * active (the active one retiring until now + DKIM_RETIRE_AFTER_MS), and retiring
 * selectors whose time is up are retired. `verdicts` holds this check's verdict per
 * selector; a selector without one (not checked) does not move.
 */
export function applyRotation<S extends RotationSelector>(
  selectors: S[],
  verdicts: ReadonlyMap<string, Verdict>,
  now: Date,
  policy: RotationPolicy,
): RotationStep<S> {
  const events: RotationEvent[] = [];
  let next: S[] = selectors.map((s) => ({ ...s }));
  const retireDue = () => {
    for (const s of next) {
      if (s.status === 'retiring' && s.retiresAt && ms(s.retiresAt) <= now.getTime()) {
        s.status = 'retired';
        s.retiredAt = now;
        events.push({ type: 'dkim.retired', selector: s.selector });
      }
    }
  };

  retireDue();
  const pending = pendingSelector(next);
  if (pending && verdicts.get(pending.selector) === 'pass') {
    for (const s of next) {
      if (s.status === 'active') {
        s.status = 'retiring';
        s.retiresAt = new Date(now.getTime() + policy.retireAfterMs);
      }
    }
    pending.status = 'active';
    pending.activatedAt = now;
    events.push({ type: 'dkim.activated', selector: pending.selector });
    // A retiring period of 0 ends at once.
    retireDue();
  }

  const retired = next.filter((s) => s.status === 'retired').sort((a, b) => ms(b.retiredAt) - ms(a.retiredAt));
  const dropped = new Set(retired.slice(policy.keepRetired));
  next = next.filter((s) => !dropped.has(s));

  return { selectors: next, events, nextCheckAt: rotationNextCheck(next, now, policy) };
}

/**
 * When the rotation needs a check at the latest: a pending selector on PROPAGATION_SCHEDULE
 * counted from its creation (within PROPAGATION_WINDOW_MS), and each retiring selector at
 * its retirement. Null when nothing is due.
 */
export function rotationNextCheck(selectors: RotationSelector[], now: Date, policy: RotationPolicy): Date | null {
  const due: number[] = [];
  const pending = pendingSelector(selectors);
  if (pending) {
    const started = ms(pending.createdAt);
    const elapsed = now.getTime() - started;
    if (elapsed < policy.propagationWindowMs) due.push(started + nextScheduledMs(policy.propagationScheduleMs, elapsed));
  }
  for (const s of selectors) if (s.status === 'retiring' && s.retiresAt) due.push(Math.max(ms(s.retiresAt), now.getTime()));
  return due.length ? new Date(Math.min(...due)) : null;
}

/** The selectors a check asks DNS about: every one but the retired. */
export function checkedSelectors<S extends RotationSelector>(selectors: S[]): S[] {
  return selectors.filter((s) => s.status !== 'retired');
}

/**
 * The domain's verdict from one check's records: every record counts except the DKIM
 * records of selectors that are not active (pending, retiring), which never change the
 * domain's state.
 */
export function domainVerdict(
  records: Array<{ purpose: string; selector: string | null; status: Verdict }>,
  selectors: RotationSelector[],
): Verdict {
  const active = new Set(selectors.filter((s) => s.status === 'active').map((s) => s.selector));
  return overall(records.filter((r) => r.purpose !== 'dkim' || (r.selector !== null && active.has(r.selector))).map((r) => r.status));
}

/**
 * When the auto-rotation sweep may pick the domain (the index it reads): since its active
 * key took over, or since the owner last cancelled a rotation (an automatic one must not
 * start again at once), or null while a rotation cannot start (pending, too many retiring):
 * it is not a candidate then, and so never holds up the others in the sweep's oldest-first batch.
 */
export function rotatableSince(selectors: RotationSelector[], cancelledAt?: Date | null): Date | null {
  if (rotationConflict(selectors)) return null;
  const since = activeSince(selectors);
  return since && cancelledAt && ms(cancelledAt) > since.getTime() ? new Date(cancelledAt) : since;
}

/** Whether DKIM_AUTO_ROTATE_AFTER_MS asks for a rotation now: the active key is older and none is pending. */
export function dueForAutoRotation(selectors: RotationSelector[], now: Date, autoRotateAfterMs: number, cancelledAt?: Date | null): boolean {
  const since = rotatableSince(selectors, cancelledAt);
  return since !== null && now.getTime() - since.getTime() >= autoRotateAfterMs;
}
