import { z } from 'zod';
import type { DomainService } from './domain.service';
import { normalizeDomainName } from './domain-name';
import { domainPageSchema, domainResourceSchema } from './domain.resource';
import { ValidationError } from '../errors';
import { idPattern } from '../ids';
import { DKIM_ALGORITHMS } from '../keys/dkim-keys';
import { pathParam, RouteTable } from '../http/route';
import { pageLimit } from '../http/validate';

export const createDomainBody = z
  .strictObject({
    domain: z.string({ message: 'must be a string' }).max(1024, 'is too long'),
    dkim: z
      .strictObject({
        algorithm: z.enum(DKIM_ALGORITHMS, { message: `must be one of ${DKIM_ALGORITHMS.join(', ')}` }).default('rsa-2048'),
      })
      .optional(),
  })
  .meta({ id: 'CreateDomain' });

export const listDomainsQuery = z.strictObject({
  limit: pageLimit,
  after: z.string().regex(idPattern('dom'), 'must be a cursor returned as nextCursor').optional(),
});

/** The `:id` path parameter; an id of the wrong shape simply does not exist. */
export const domainIdParam = pathParam('domain', z.string().regex(idPattern('dom')));

export function domainsRoutes(domains: DomainService): RouteTable {
  return new RouteTable()
    .route({
      method: 'post',
      path: '/v1/domains',
      summary: 'Register a sending domain; issues a DKIM key pair and the SPF value',
      auth: 'account',
      body: createDomainBody,
      responses: { 201: { description: 'the domain resource', body: domainResourceSchema, headers: { Location: 'the URL of the new domain' } } },
      errors: [409, 503],
      handler: async ({ accountId, body }, res) => {
        const name = normalizeDomainName(body.domain);
        if (!name.ok) throw new ValidationError(`domain ${name.reason}`, [{ field: 'domain', message: name.reason }]);
        const resource = await domains.register(accountId, name.domain, body.dkim?.algorithm ?? 'rsa-2048');
        res.status(201).location(`/v1/domains/${resource.id}`).json(resource);
      },
    })
    .route({
      method: 'get',
      path: '/v1/domains',
      summary: "List the account's domains",
      auth: 'account',
      query: listDomainsQuery,
      responses: { 200: { description: 'a page of domains, oldest first', body: domainPageSchema } },
      handler: async ({ accountId, query }, res) => {
        res.json(await domains.list(accountId, query.limit ?? 50, query.after));
      },
    })
    .route({
      method: 'get',
      path: '/v1/domains/:id',
      summary: 'Domain status (ETag; 304 on If-None-Match)',
      auth: 'account',
      params: { id: domainIdParam },
      responses: {
        200: { description: 'the domain resource', body: domainResourceSchema, headers: { ETag: 'a weak ETag of the body' } },
        304: { description: 'not modified since the ETag sent in If-None-Match' },
      },
      // Express computes a weak ETag over the body and answers 304 to a matching If-None-Match.
      handler: async ({ accountId, params }, res) => {
        res.json(await domains.get(accountId, params.id));
      },
    })
    .route({
      method: 'delete',
      path: '/v1/domains/:id',
      summary: 'Delete a domain, stop its checks and remove its SMTP users',
      auth: 'account',
      params: { id: domainIdParam },
      responses: { 204: { description: 'deleted' } },
      handler: async ({ accountId, params }, res) => {
        await domains.remove(accountId, params.id);
        res.status(204).end();
      },
    });
}
