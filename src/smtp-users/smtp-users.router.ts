import { z } from 'zod';
import type { SmtpUserService } from './smtp-user.service';
import { MAX_SMTP_USERS } from './smtp-user.model';
import { pathParam, RouteTable } from '../http/route';
import { domainIdParam } from '../domains/domains.router';

/** POST /v1/domains/:id/smtp-users takes no settings: everything is generated. */
export const createSmtpUserBody = z.strictObject({}).meta({ id: 'CreateSmtpUser' });

const username = z.string().regex(/^mw[a-z2-7]{16}$/);

const createdSmtpUser = z
  .strictObject({
    username,
    password: z.string().min(24).meta({ description: 'shown once; only a scrypt hash is stored' }),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'SmtpUserCreated' });

const smtpUserList = z
  .strictObject({ data: z.array(z.strictObject({ username, createdAt: z.iso.datetime() })).max(MAX_SMTP_USERS) })
  .meta({ id: 'SmtpUserList', description: 'oldest first; never a password' });

export function smtpUsersRoutes(smtpUsers: SmtpUserService): RouteTable {
  return new RouteTable()
    .route({
      method: 'post',
      path: '/v1/domains/:id/smtp-users',
      summary: `Create an SMTP user with a generated username and password (the password is shown only here); 409 past ${MAX_SMTP_USERS} per domain`,
      auth: 'account',
      params: { id: domainIdParam },
      // No body at all is as good as {}; a body that is not a JSON object is still refused.
      body: createSmtpUserBody,
      bodyRequired: false,
      responses: { 201: { description: 'the new user and its password', body: createdSmtpUser } },
      errors: [409],
      handler: async ({ accountId, params }, res) => {
        const user = await smtpUsers.create(accountId, params.id);
        // The password is a credential shown once: keep it out of every cache.
        res.status(201).set('Cache-Control', 'no-store').json(user);
      },
    })
    .route({
      method: 'get',
      path: '/v1/domains/:id/smtp-users',
      summary: "List the domain's SMTP users (never a password)",
      auth: 'account',
      params: { id: domainIdParam },
      responses: { 200: { description: 'the users', body: smtpUserList } },
      handler: async ({ accountId, params }, res) => {
        res.json(await smtpUsers.list(accountId, params.id));
      },
    })
    .route({
      method: 'delete',
      path: '/v1/domains/:id/smtp-users/:username',
      summary: 'Delete an SMTP user',
      auth: 'account',
      // The service checks the domain before the username, so a bad name on another account's domain stays "domain not found".
      params: { id: domainIdParam, username: pathParam('smtp user') },
      responses: { 204: { description: 'deleted' } },
      handler: async ({ accountId, params }, res) => {
        await smtpUsers.remove(accountId, params.id, params.username);
        res.status(204).end();
      },
    });
}
