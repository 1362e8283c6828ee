import { z } from 'zod';
import { RouteTable } from '../http/route';
import { domainResourceSchema } from './domain.resource';
import { domainIdParam } from './domains.router';
import { RETURN_PATH_FALLBACKS } from './return-path';
import type { ReturnPathService } from './return-path.service';

export const returnPathBody = z
  .strictObject({
    subdomain: z.string({ message: 'must be a string' }).max(253, 'is too long').meta({ description: 'a subdomain of the domain, for example bounce.example.com' }),
    fallback: z
      .enum(RETURN_PATH_FALLBACKS, { message: `must be one of ${RETURN_PATH_FALLBACKS.join(', ')}` })
      .optional()
      .meta({ description: 'while the return path is not verified: use_sender (default) keeps the client\'s envelope sender; reject makes the relay answer 451 4.7.1' }),
  })
  .meta({ id: 'SetReturnPath' });

/** The custom MAIL FROM of a domain. */
export function returnPathRoutes(returnPaths: ReturnPathService): RouteTable {
  return new RouteTable().route({
    method: 'put',
    path: '/v1/domains/:id/return-path',
    summary: 'Set the return path (custom MAIL FROM subdomain): the MX and SPF records to publish there, verified like the domain\'s own',
    auth: 'account',
    params: { id: domainIdParam },
    body: returnPathBody,
    responses: { 200: { description: 'the domain resource, with its return path', body: domainResourceSchema } },
    handler: async ({ accountId, params, body }, res) => {
      res.json(await returnPaths.set(accountId, params.id, body));
    },
  });
}
