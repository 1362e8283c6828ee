import { Router } from 'express';
import { z } from 'zod';
import type { AccountService } from './account.service';
import { requireAdmin } from '../http/auth';
import { parse } from '../http/validate';

export const createAccountBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
});

export function accountsRoutes(accounts: AccountService): Router {
  const r = Router();
  r.post('/v1/accounts', requireAdmin, async (req, res) => {
    const body = parse(createAccountBody, req.body);
    const { account, apiKey } = await accounts.create(body.name);
    res.status(201).json({ id: account.id, name: account.name, apiKey, createdAt: account.createdAt.toISOString() });
  });
  return r;
}
