import { Router, type Request } from 'express';
import { NotFoundError } from '../errors';
import type { MessageService } from './message.service';
import { accountIdOf } from '../http/auth';

/** The `:queueId` path parameter; an id of the wrong shape simply does not exist. */
function queueIdParam(req: Request): string {
  const id = String(req.params.queueId);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new NotFoundError('message');
  return id;
}

/** Message status and, in capture mode, the signed message as it would have left. */
export function messagesRoutes(messages: MessageService): Router {
  const r = Router();

  r.get('/v1/messages/:queueId', async (req, res) => {
    res.json(await messages.get(accountIdOf(req), queueIdParam(req)));
  });

  r.get('/v1/messages/:queueId/raw', async (req, res) => {
    res.type('message/rfc822').send(await messages.raw(accountIdOf(req), queueIdParam(req)));
  });

  return r;
}
