import type { LifecycleService } from '../src/domains/lifecycle.service';

const MAINTENANCE_EVERY_MS = 60_000;

/** One sweeper tick; housekeeping rides along at most once a minute, off the per-tick path. */
export function sweepProcessor(lifecycle: LifecycleService, now: () => number = Date.now) {
  let lastMaintenance = 0;
  return async (): Promise<{ due: number }> => {
    const due = await lifecycle.sweep();
    if (now() - lastMaintenance >= MAINTENANCE_EVERY_MS) {
      lastMaintenance = now();
      await lifecycle.maintain();
    }
    return { due };
  };
}
