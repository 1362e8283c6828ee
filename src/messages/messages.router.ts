import { z } from 'zod';
import type { MessageService } from './message.service';
import { messageResourceSchema } from './message.resource';
import { pathParam, RouteTable } from '../http/route';

/** The `:queueId` path parameter; an id of the wrong shape simply does not exist. */
const queueIdParam = pathParam('message', z.string().regex(/^[A-Za-z0-9_-]{1,64}$/));

/** Message status and, in capture mode, the signed message as it would have left. */
export function messagesRoutes(messages: MessageService): RouteTable {
  return new RouteTable()
    .route({
      method: 'get',
      path: '/v1/messages/:queueId',
      summary: 'Message status and every delivery attempt',
      auth: 'account',
      params: { queueId: queueIdParam },
      responses: { 200: { description: 'the message resource', body: messageResourceSchema } },
      handler: async ({ accountId, params }, res) => {
        res.json(await messages.get(accountId, params.queueId));
      },
    })
    .route({
      method: 'get',
      path: '/v1/messages/:queueId/raw',
      summary: 'The DKIM-signed message as delivered (DELIVERY_MODE=capture); 404 until captured',
      auth: 'account',
      params: { queueId: queueIdParam },
      responses: { 200: { description: 'the message', body: z.string(), contentType: 'message/rfc822' } },
      handler: async ({ accountId, params }, res) => {
        res.type('message/rfc822').send(await messages.raw(accountId, params.queueId));
      },
    });
}
