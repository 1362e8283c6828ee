import { z } from 'zod';
import { RouteTable } from '../http/route';
import { domainResourceSchema } from './domain.resource';
import type { DomainService } from './domain.service';
import { domainIdParam } from './domains.router';

const limit = (what: string, max: number) =>
  z
    .number({ message: 'must be a whole number or null' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .nullable()
    .optional()
    .meta({ description: `${what}; null: back to the configured default` });

export const sendingLimitsBody = z
  .strictObject({
    rateLimitPerSecond: limit('recipients per second (DEFAULT_RATE_PER_SECOND)', 1_000_000),
    dailyQuota: limit('recipients per UTC day (DEFAULT_DAILY_QUOTA)', 1_000_000_000),
  })
  .refine((b) => b.rateLimitPerSecond !== undefined || b.dailyQuota !== undefined, {
    message: 'must set rateLimitPerSecond, dailyQuota or both',
  })
  .meta({ id: 'SendingLimits' });

export function sendingLimitsRoutes(domains: DomainService): RouteTable {
  return new RouteTable().route({
    method: 'put',
    path: '/v1/admin/domains/:id/limits',
    summary: "Set any account's domain's sending limits, counted per recipient (admin key)",
    auth: 'admin',
    params: { id: domainIdParam },
    body: sendingLimitsBody,
    responses: { 200: { description: 'the domain resource, with its quota', body: domainResourceSchema } },
    handler: async ({ params, body }, res) => {
      res.json(await domains.setSendingLimits(params.id, body));
    },
  });
}
