import { z } from 'zod';
import type { DkimRotationService } from './dkim-rotation.service';
import { domainResourceSchema } from './domain.resource';
import { domainIdParam } from './domains.router';
import { DKIM_ALGORITHMS } from '../keys/dkim-keys';
import { RouteTable } from '../http/route';

export const rotateDkimBody = z
  .strictObject({
    algorithm: z
      .enum(DKIM_ALGORITHMS, { message: `must be one of ${DKIM_ALGORITHMS.join(', ')}` })
      .optional()
      .meta({ description: "the new key's algorithm; default: the active key's" }),
  })
  .meta({ id: 'RotateDkim' });

/** DKIM key rotation: start one, cancel a pending one. */
export function dkimRotationRoutes(rotation: DkimRotationService): RouteTable {
  return new RouteTable()
    .route({
      method: 'post',
      path: '/v1/domains/:id/dkim/rotate',
      summary: 'Start a DKIM key rotation: a new selector, pending until its record passes on every nameserver',
      description:
        'Adds a new selector (a new UUID and key pair) as `pending`. Once its record passes on every authoritative nameserver, ' +
        'it becomes `active` and signing switches to it; the old selector is `retiring` for DKIM_RETIRE_AFTER_MS (still checked, ' +
        'but its failure no longer suspends), then `retired` (`safeToRemove`). 409 while another rotation is pending.',
      auth: 'account',
      params: { id: domainIdParam },
      body: rotateDkimBody,
      bodyRequired: false,
      responses: { 202: { description: 'the domain resource, listing the new pending selector and its record', body: domainResourceSchema } },
      errors: [409, 503],
      handler: async ({ accountId, params, body }, res) => {
        res.status(202).json(await rotation.rotate(accountId, params.id, body.algorithm));
      },
    })
    .route({
      method: 'delete',
      path: '/v1/domains/:id/dkim/rotation',
      summary: 'Cancel the pending DKIM rotation (409 when none is pending, or it already took effect)',
      auth: 'account',
      params: { id: domainIdParam },
      responses: { 200: { description: 'the domain resource without the pending selector', body: domainResourceSchema } },
      errors: [409, 503],
      handler: async ({ accountId, params }, res) => {
        res.json(await rotation.cancel(accountId, params.id));
      },
    });
}
