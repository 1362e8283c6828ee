import { Router, type Request } from 'express';
import { NotFoundError } from '../errors';
import { toMessageResource } from './message.resource';
import type { MessageStore } from './message.store';
import { accountIdOf } from '../http/auth';

/** The `:queueId` path parameter; an id of the wrong shape simply does not exist. */
function queueIdParam(req: Request): string {
  const id = String(req.params.queueId);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new NotFoundError('message');
  return id;
}

/** Message status and, in capture mode, the signed message as it would have left. */
export function messagesRoutes(messages: MessageStore): Router {
  const r = Router();

  r.get('/v1/messages/:queueId', async (req, res) => {
    const m = await messages.findSummaryForAccount(accountIdOf(req), queueIdParam(req));
    if (!m) throw new NotFoundError('message');
    res.json(toMessageResource(m));
  });

  r.get('/v1/messages/:queueId/raw', async (req, res) => {
    const accountId = accountIdOf(req);
    const id = queueIdParam(req);
    const captured = await messages.findCaptured(accountId, id);
    if (!captured) {
      const exists = await messages.findSummaryForAccount(accountId, id);
      throw new NotFoundError(exists ? 'captured copy of this message (DELIVERY_MODE=capture keeps one once it is delivered)' : 'message');
    }
    res.type('message/rfc822').send(captured);
  });

  return r;
}
