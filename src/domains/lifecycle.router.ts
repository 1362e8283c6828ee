import { Router } from 'express';
import { z } from 'zod';
import type { CheckStore } from '../verification/check.store';
import type { LifecycleService } from './lifecycle.service';
import type { DomainService } from './domain.service';
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
export function lifecycleRoutes(lifecycle: LifecycleService, domains: DomainService, checks: CheckStore): Router {
  const r = Router();

  r.post('/v1/domains/:id/verify', async (req, res) => {
    res.status(202).json(await lifecycle.verifyNow(accountIdOf(req), domainIdParam(req)));
  });

  r.get('/v1/domains/:id/checks', async (req, res) => {
    const accountId = accountIdOf(req);
    const id = domainIdParam(req);
    const q = parse(listChecksQuery, req.query, 'query');
    await domains.get(accountId, id); // 404 for another account's domain
    const limit = q.limit ?? 20;
    const docs = await checks.listForDomain(accountId, id, limit + 1, q.before);
    const page = docs.slice(0, limit).map(({ accountId: _a, ...c }) => ({ ...c, id: c._id, _id: undefined }));
    res.json({ data: page, nextCursor: docs.length > limit ? docs[limit - 1]._id : null });
  });

  return r;
}
