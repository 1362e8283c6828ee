import { z } from 'zod';
import type { AccountService } from './account.service';
import { RouteTable } from '../http/route';

export const createAccountBody = z
  .strictObject({
    name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  })
  .meta({ id: 'CreateAccount' });

const createdAccount = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    apiKey: z.string().meta({ description: 'shown once; only a hash is stored' }),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Account' });

export function accountsRoutes(accounts: AccountService): RouteTable {
  return new RouteTable().route({
    method: 'post',
    path: '/v1/accounts',
    summary: 'Create an account (admin key)',
    auth: 'admin',
    body: createAccountBody,
    responses: { 201: { description: 'the account with its API key, shown once', body: createdAccount } },
    handler: async ({ body }, res) => {
      const { account, apiKey } = await accounts.create(body.name);
      res.status(201).json({ id: account.id, name: account.name, apiKey, createdAt: account.createdAt.toISOString() });
    },
  });
}
