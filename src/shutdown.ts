import type { Logger } from './logger';

/** One part of a graceful stop, run in order. */
export interface StopStep {
  name: string;
  run: () => Promise<void>;
}

export interface StopResult {
  /** True when the deadline passed before every step finished. */
  forced: boolean;
  /** The steps that did not finish: the one running at the deadline and those never started. */
  abandoned: string[];
}

/**
 * Runs `steps` one after the other against a single deadline of `graceMs`. A step that
 * fails is logged and the next one still runs (close what can be closed); a step that
 * hangs past the deadline is abandoned, with every step after it, so the caller can
 * force-disconnect what is left and exit. Never waits longer than `graceMs`.
 */
export async function stopWithin(steps: StopStep[], graceMs: number, logger: Logger): Promise<StopResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), graceMs);
  });
  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const outcome = await Promise.race([
        step.run().then(
          () => 'done' as const,
          (err: unknown) => {
            logger.warn({ step: step.name, err: (err as Error)?.message }, 'shutdown: a step failed; going on with the next');
            return 'failed' as const;
          },
        ),
        deadline,
      ]);
      if (outcome === 'deadline') return { forced: true, abandoned: steps.slice(i).map((s) => s.name) };
    }
    return { forced: false, abandoned: [] };
  } finally {
    clearTimeout(timer);
  }
}
