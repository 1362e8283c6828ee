import { Router } from 'express';
import { z } from 'zod';
import { accountIdOf } from '../http/auth';
import { parse } from '../http/validate';
import type { SendingPolicy } from './sending-policy.service';

export const policyQuery = z.strictObject({
  sender: z
    .string({ message: 'is required' })
    .max(320, 'is too long')
    .regex(/^[^@\s]+@[^@\s]+$/, 'must be an address such as user@example.com'),
});

/** GET /v1/policy?sender=: the relay's decision, for other MTAs to ask (DESIGN §6). */
export function policyRoutes(policy: SendingPolicy): Router {
  const r = Router();
  r.get('/v1/policy', async (req, res) => {
    const accountId = accountIdOf(req);
    const q = parse(policyQuery, req.query, 'query');
    res.json(await policy.forSender(accountId, q.sender));
  });
  return r;
}
