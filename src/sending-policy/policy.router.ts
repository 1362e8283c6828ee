import { Router } from 'express';
import { z } from 'zod';
import { normalizeDomainName } from '../domains/domain-name';
import { sendingDecision } from '../domains/domain.resource';
import type { DomainStore } from '../domains/domain.store';
import { accountIdOf } from '../http/auth';
import { parse } from '../http/validate';

export const policyQuery = z.strictObject({
  sender: z
    .string({ message: 'is required' })
    .max(320, 'is too long')
    .regex(/^[^@\s]+@[^@\s]+$/, 'must be an address such as user@example.com'),
});

/** GET /v1/policy?sender=: the relay's decision, for other MTAs to ask (DESIGN §6). */
export function policyRoutes(domains: DomainStore): Router {
  const r = Router();
  r.get('/v1/policy', async (req, res) => {
    const accountId = accountIdOf(req);
    const q = parse(policyQuery, req.query, 'query');
    const name = normalizeDomainName(q.sender.slice(q.sender.lastIndexOf('@') + 1));
    const doc = name.ok ? await domains.findByName(accountId, name.domain) : null;
    if (!doc) return void res.json({ sender: q.sender, allowed: false, reason: 'the sender domain is not registered for this account' });
    res.json({ sender: q.sender, domain: doc.domain, domainId: doc._id, ...sendingDecision(doc) });
  });
  return r;
}
