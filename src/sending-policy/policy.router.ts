import { z } from 'zod';
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
    responses: { 200: { description: '{allowed, reason}, and the domain when it is registered', body: senderDecision } },
    handler: async ({ accountId, query }, res) => {
      res.json(await policy.forSender(accountId, query.sender));
    },
  });
}
