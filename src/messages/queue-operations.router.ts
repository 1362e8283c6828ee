import { z } from 'zod';
import { RouteTable } from '../http/route';
import type { HoldScope } from './queue-hold.model';
import { AGE_BUCKETS, MESSAGE_STATUSES, type QueueOperationsService } from './queue-operations.service';

const id = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

/** `{domainId}` or `{accountId}`: exactly one. */
function scopeOf<S extends z.ZodObject>(schema: S, required: boolean) {
  return schema.superRefine((v, ctx) => {
    const o = v as { domainId?: string; accountId?: string };
    if (o.domainId !== undefined && o.accountId !== undefined) ctx.addIssue({ code: 'custom', path: ['accountId'], message: 'give domainId or accountId, not both' });
    else if (required && o.domainId === undefined && o.accountId === undefined) ctx.addIssue({ code: 'custom', path: ['domainId'], message: 'is required (or accountId)' });
  });
}

export const queueScopeBody = scopeOf(z.strictObject({ domainId: id.optional(), accountId: id.optional() }), true).meta({
  id: 'QueueScope',
  description: 'the mail of one domain (domainId) or of one account (accountId): exactly one of them',
});
const statsQuery = scopeOf(z.strictObject({ domainId: id.optional(), accountId: id.optional() }), false);

const scopeSchema = z.union([z.strictObject({ domainId: z.string() }), z.strictObject({ accountId: z.string() })]);

const operationResult = z
  .strictObject({
    scope: scopeSchema,
    messages: z.number().int().meta({ description: 'messages touched: unfinished (hold), re-enqueued (release), retried (retry) or cancelled (cancel)' }),
    busy: z.number().int().optional().meta({ description: 'cancel: messages a running attempt still held after a short wait; cancel again' }),
  })
  .meta({ id: 'QueueOperationResult' });

const count = z.number().int();
export const queueStatsSchema = z
  .strictObject({
    scope: scopeSchema.nullable(),
    at: z.iso.datetime(),
    byStatus: z.strictObject(Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, count])) as Record<(typeof MESSAGE_STATUSES)[number], typeof count>),
    byDestination: z
      .array(z.strictObject({ domain: z.string(), recipients: count, queued: count, deferred: count, held: count }))
      .meta({ description: `pending recipients by destination domain, most first (at most 50)` }),
    byAge: z
      .array(z.strictObject({ age: z.enum(AGE_BUCKETS.map((b) => b.label) as [string, ...string[]]), messages: count }))
      .meta({ description: 'unfinished messages by the time since they were accepted' }),
    oldestAt: z.iso.datetime().nullable().meta({ description: 'when the oldest unfinished message was accepted' }),
    jobs: z
      .strictObject({ waiting: count, active: count, delayed: count, failed: count })
      .nullable()
      .meta({ description: "the delivery queue's jobs by state; null for a scope" }),
  })
  .meta({ id: 'QueueStats' });

const toScope = (v: { domainId?: string; accountId?: string }): HoldScope => (v.domainId !== undefined ? { domainId: v.domainId } : { accountId: v.accountId! });

/** The operator's queue handles (DESIGN §6): admin key only. */
export function queueOperationsRoutes(ops: QueueOperationsService): RouteTable {
  const table = new RouteTable();
  const operations = [
    ['hold', 'Hold the mail of a domain or an account: no attempt sends it until it is released (admin key)', (s: HoldScope) => ops.hold(s)],
    ['release', 'Release held mail of a domain or an account: it is re-enqueued at once (admin key)', (s: HoldScope) => ops.release(s)],
    ['retry', 'Attempt the deferred mail of a domain or an account now (admin key)', (s: HoldScope) => ops.retry(s)],
    ['cancel', 'Cancel the pending mail of a domain or an account: its recipients fail with reason `cancelled` (admin key)', (s: HoldScope) => ops.cancel(s)],
  ] as const;
  for (const [name, summary, run] of operations) {
    table.route({
      method: 'post',
      path: `/v1/admin/queue/${name}`,
      summary,
      auth: 'admin',
      body: queueScopeBody,
      responses: { 200: { description: 'what the operation touched', body: operationResult } },
      errors: [404],
      handler: async ({ body }, res) => {
        res.json(await run(toScope(body)));
      },
    });
  }
  return table.route({
    method: 'get',
    path: '/v1/admin/queue/stats',
    summary: 'Queue statistics by status, destination domain and age, for everything or one domain or account (admin key)',
    auth: 'admin',
    query: statsQuery,
    responses: { 200: { description: 'the statistics', body: queueStatsSchema } },
    errors: [404],
    handler: async ({ query }, res) => {
      const scope = query.domainId !== undefined || query.accountId !== undefined ? toScope(query) : null;
      res.json(await ops.stats(scope));
    },
  });
}
