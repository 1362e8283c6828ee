import type { LifecycleService } from '../src/domains/lifecycle.service';

/** One sweeper tick. */
export function sweepProcessor(lifecycle: LifecycleService) {
  return async (): Promise<{ due: number }> => ({ due: await lifecycle.sweep() });
}
