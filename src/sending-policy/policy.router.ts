import { z } from 'zod';
import { RETURN_PATH_FALLBACKS } from '../domains/return-path';
import { RouteTable } from '../http/route';
import type { SendingPolicy } from './sending-policy.service';

export const policyQuery = z.strictObject({
  sender: z
    .string({ message: 'is required' })
    .max(320, 'is too long')
    .regex(/^[^@\s]+@[^@\s]+$/, 'must be an address such as user@example.com'),
});

const senderDecision = z
  .strictObject({
    sender: z.string(),
    domain: z.string().optional().meta({ description: 'the registered domain, when there is one' }),
    domainId: z.string().optional(),
    allowed: z.boolean(),
    reason: z.string(),
    returnPath: z
      .enum(['verp', ...RETURN_PATH_FALLBACKS])
      .optional()
      .meta({
        description:
          'for a registered domain, the return-path decision now: verp (the return path is verified: bounces come back to b-<token>@subdomain), use_sender (the client\'s MAIL FROM is kept), or reject (the relay answers 451 4.7.1 at MAIL FROM until the return path verifies)',
      }),
  })
  .meta({ id: 'SenderDecision' });

/** GET /v1/policy?sender=: the relay's decision, for other MTAs to ask (DESIGN §6). */
export function policyRoutes(policy: SendingPolicy): RouteTable {
  return new RouteTable().route({
    method: 'get',
    path: '/v1/policy',
    summary: "The relay's decision for a sender address",
    auth: 'account',
    query: policyQuery,
    responses: { 200: { description: '{allowed, reason}, and the domain and its return-path decision when it is registered', body: senderDecision } },
    handler: async ({ accountId, query }, res) => {
      res.json(await policy.forSender(accountId, query.sender));
    },
  });
}
