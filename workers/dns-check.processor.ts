import { UnrecoverableError, type Job } from 'bullmq';
import type { LifecycleService } from '../src/domains/lifecycle.service';
import { dnsCheckPayload } from '../src/queue/queues';

/** Parses the payload and runs one check; a bad payload is permanent, DNS trouble is not an error. */
export function dnsCheckProcessor(lifecycle: LifecycleService) {
  return async (job: Job): Promise<string> => {
    const parsed = dnsCheckPayload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid dns-check payload: ${parsed.error.message}`);
    return lifecycle.check(parsed.data.domainId, parsed.data.trigger);
  };
}
