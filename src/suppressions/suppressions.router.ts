import { z } from 'zod';
import { pathParam, RouteTable } from '../http/route';
import { pageLimit } from '../http/validate';
import { SUPPRESSION_REASONS } from './suppression.model';
import { suppressionPageSchema, suppressionSchema } from './suppression.resource';
import type { SuppressionService } from './suppression.service';

export const putSuppressionBody = z
  .strictObject({
    reason: z
      .enum(SUPPRESSION_REASONS, { message: `must be one of ${SUPPRESSION_REASONS.join(', ')}` })
      .optional()
      .meta({ description: 'default manual' }),
    expiresAt: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time (2030-01-31T00:00:00Z) or null' })
      .nullable()
      .optional()
      .meta({ description: 'from then on the address is no longer suppressed; null or absent: never' }),
  })
  .meta({ id: 'PutSuppression' });

const listSuppressionsQuery = z.strictObject({
  limit: pageLimit,
  after: z.string().max(512, 'must be a cursor returned as nextCursor').optional(),
});

/**
 * The address, URL-encoded (`%40` for the @). Any string reaches the handler, which
 * answers 400 naming `address` for one that is not an address.
 */
const addressParam = pathParam(
  'suppression',
  z.string().meta({ description: 'the address, URL-encoded; the domain compares case-insensitively, the local part exactly' }),
);

export function suppressionsRoutes(suppressions: SuppressionService): RouteTable {
  return new RouteTable()
    .route({
      method: 'get',
      path: '/v1/suppressions',
      summary: "The account's suppression list",
      auth: 'account',
      query: listSuppressionsQuery,
      responses: { 200: { description: 'a page of entries in force, in address order', body: suppressionPageSchema } },
      handler: async ({ accountId, query }, res) => {
        res.json(await suppressions.list(accountId, query.limit ?? 50, query.after));
      },
    })
    .route({
      method: 'put',
      path: '/v1/suppressions/:address',
      summary: 'Suppress an address (or change the reason and expiry of its entry)',
      auth: 'account',
      params: { address: addressParam },
      body: putSuppressionBody,
      bodyRequired: false,
      responses: {
        200: { description: 'the entry, changed', body: suppressionSchema },
        201: { description: 'the entry, new', body: suppressionSchema, headers: { Location: 'the URL of the entry' } },
      },
      handler: async ({ accountId, params, body }, res) => {
        const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
        const { created, suppression } = await suppressions.put(accountId, params.address, { reason: body.reason, expiresAt });
        if (created) res.status(201).location(`/v1/suppressions/${encodeURIComponent(suppression.address)}`);
        res.json(suppression);
      },
    })
    .route({
      method: 'delete',
      path: '/v1/suppressions/:address',
      summary: 'Remove an address from the suppression list',
      auth: 'account',
      params: { address: addressParam },
      responses: { 204: { description: 'removed' } },
      errors: [400],
      handler: async ({ accountId, params }, res) => {
        await suppressions.remove(accountId, params.address);
        res.status(204).end();
      },
    });
}
