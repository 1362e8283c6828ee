import { z } from 'zod';
import type { LifecycleService } from './lifecycle.service';
import { domainResourceSchema } from './domain.resource';
import { idPattern } from '../ids';
import { RouteTable } from '../http/route';
import { pageLimit } from '../http/validate';
import { checkPageSchema } from '../verification/check.resource';
import { domainIdParam } from './domains.router';

export const listChecksQuery = z.strictObject({
  limit: pageLimit,
  before: z.string().regex(idPattern('chk'), 'must be a cursor returned as nextCursor').optional(),
});

/** Verify-now and check history. */
export function lifecycleRoutes(lifecycle: LifecycleService): RouteTable {
  return new RouteTable()
    .route({
      method: 'post',
      path: '/v1/domains/:id/verify',
      summary: 'Run a check now (idempotent while one is queued); on a failed domain it opens a new window',
      auth: 'account',
      params: { id: domainIdParam },
      responses: { 202: { description: 'the domain resource; the check is queued', body: domainResourceSchema } },
      errors: [429],
      handler: async ({ accountId, params }, res) => {
        res.status(202).json(await lifecycle.verifyNow(accountId, params.id));
      },
    })
    .route({
      method: 'get',
      path: '/v1/domains/:id/checks',
      summary: 'Check history, newest first',
      auth: 'account',
      params: { id: domainIdParam },
      query: listChecksQuery,
      responses: { 200: { description: 'a page of checks', body: checkPageSchema } },
      handler: async ({ accountId, params, query }, res) => {
        res.json(await lifecycle.listChecks(accountId, params.id, query.limit ?? 20, query.before));
      },
    });
}
