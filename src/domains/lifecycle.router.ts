import { Router } from 'express';
import { z } from 'zod';
import type { LifecycleService } from './lifecycle.service';
import { isId } from '../ids';
import { accountIdOf } from '../http/auth';
import { pageLimit, parse } from '../http/validate';
import { domainIdParam } from './domains.router';

export const listChecksQuery = z.strictObject({
  limit: pageLimit,
  before: z
    .string()
    .refine((v) => isId(v, 'chk'), 'must be a cursor returned as nextCursor')
    .optional(),
});

/** Verify-now and check history. */
export function lifecycleRoutes(lifecycle: LifecycleService): Router {
  const r = Router();

  r.post('/v1/domains/:id/verify', async (req, res) => {
    res.status(202).json(await lifecycle.verifyNow(accountIdOf(req), domainIdParam(req)));
  });

  r.get('/v1/domains/:id/checks', async (req, res) => {
    const accountId = accountIdOf(req);
    const id = domainIdParam(req);
    const q = parse(listChecksQuery, req.query, 'query');
    res.json(await lifecycle.listChecks(accountId, id, q.limit ?? 20, q.before));
  });

  return r;
}
