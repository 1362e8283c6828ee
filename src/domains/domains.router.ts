import { Router, type Request } from 'express';
import { z } from 'zod';
import type { DomainService } from './domain.service';
import { normalizeDomainName } from './domain-name';
import { NotFoundError, ValidationError } from '../errors';
import { isId } from '../ids';
import { DKIM_ALGORITHMS } from '../keys/dkim-keys';
import { accountIdOf } from '../http/auth';
import { pageLimit, parse } from '../http/validate';

export const createDomainBody = z.strictObject({
  domain: z.string({ message: 'must be a string' }).max(1024, 'is too long'),
  dkim: z
    .strictObject({
      algorithm: z.enum(DKIM_ALGORITHMS, { message: `must be one of ${DKIM_ALGORITHMS.join(', ')}` }).default('rsa-2048'),
    })
    .optional(),
});

export const listDomainsQuery = z.strictObject({
  limit: pageLimit,
  after: z
    .string()
    .refine((v) => isId(v, 'dom'), 'must be a cursor returned as nextCursor')
    .optional(),
});

/** The `:id` path parameter; an id of the wrong shape simply does not exist. */
export function domainIdParam(req: Request): string {
  const id = String(req.params.id);
  if (!isId(id, 'dom')) throw new NotFoundError('domain');
  return id;
}

export function domainsRoutes(domains: DomainService): Router {
  const r = Router();

  r.post('/v1/domains', async (req, res) => {
    const accountId = accountIdOf(req);
    const body = parse(createDomainBody, req.body);
    const name = normalizeDomainName(body.domain);
    if (!name.ok) throw new ValidationError(`domain ${name.reason}`, [{ field: 'domain', message: name.reason }]);
    const resource = await domains.register(accountId, name.domain, body.dkim?.algorithm ?? 'rsa-2048');
    res.status(201).location(`/v1/domains/${resource.id}`).json(resource);
  });

  r.get('/v1/domains', async (req, res) => {
    const accountId = accountIdOf(req);
    const q = parse(listDomainsQuery, req.query, 'query');
    res.json(await domains.list(accountId, q.limit ?? 50, q.after));
  });

  // Express computes a weak ETag over the body and answers 304 to a matching If-None-Match.
  r.get('/v1/domains/:id', async (req, res) => {
    res.json(await domains.get(accountIdOf(req), domainIdParam(req)));
  });

  r.delete('/v1/domains/:id', async (req, res) => {
    await domains.remove(accountIdOf(req), domainIdParam(req));
    res.status(204).end();
  });

  return r;
}
