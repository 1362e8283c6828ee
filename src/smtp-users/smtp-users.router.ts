import { Router, type Request } from 'express';
import { z } from 'zod';
import type { SmtpUserService } from './smtp-user.service';
import { accountIdOf } from '../http/auth';
import { parse } from '../http/validate';
import { domainIdParam } from '../domains/domains.router';

/** POST /v1/domains/:id/smtp-users takes no settings: everything is generated. */
export const createSmtpUserBody = z.strictObject({});

/** True when the request carries a body, whether or not express.json parsed it. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

export function smtpUsersRoutes(smtpUsers: SmtpUserService): Router {
  const r = Router();

  r.post('/v1/domains/:id/smtp-users', async (req, res) => {
    const accountId = accountIdOf(req);
    const id = domainIdParam(req);
    // No body at all is as good as {}; a body that is not a JSON object is still refused.
    parse(createSmtpUserBody, req.body === undefined && !hasBody(req) ? {} : req.body);
    const user = await smtpUsers.create(accountId, id);
    // The password is a credential shown once: keep it out of every cache.
    res.status(201).set('Cache-Control', 'no-store').json(user);
  });

  r.get('/v1/domains/:id/smtp-users', async (req, res) => {
    res.json(await smtpUsers.list(accountIdOf(req), domainIdParam(req)));
  });

  r.delete('/v1/domains/:id/smtp-users/:username', async (req, res) => {
    await smtpUsers.remove(accountIdOf(req), domainIdParam(req), String(req.params.username));
    res.status(204).end();
  });

  return r;
}
