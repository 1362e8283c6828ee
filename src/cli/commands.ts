import { queueScope, required, seg, UsageError, type CommandGroup } from './command';
import { domainsCommands } from './domains.command';
import { fields, json, table } from './output';

interface Webhook {
  id: string;
  url: string;
  events: string[];
  domainId: string | null;
  status: string;
  secret?: string;
}
interface Suppression {
  address: string;
  reason: string;
  reply: { code: number; enhanced: string | null; message: string } | null;
  createdAt: string;
  expiresAt: string | null;
}
interface QueueStats {
  byStatus: Record<string, number>;
  byDestination: Array<{ domain: string; recipients: number; queued: number; deferred: number; held: number }>;
  byAge: Array<{ age: string; messages: number }>;
  oldestAt: string | null;
  jobs: Record<string, number> | null;
}

const accounts: CommandGroup = {
  create: {
    usage: '--name <name>',
    summary: 'create an account (admin key); its API key is shown once',
    options: { name: { type: 'string' } },
    async run(ctx) {
      const a = (await ctx.api.post<{ id: string; name: string; apiKey: string }>('/v1/accounts', { name: required(ctx, 'name') })).body;
      ctx.io.stdout(ctx.json ? json(a) : `${fields([['id', a.id], ['name', a.name], ['api key', a.apiKey]])}the API key is shown only now: keep it\n`);
    },
  },
};

const smtpUsers: CommandGroup = {
  add: {
    usage: '<domain-id>',
    summary: 'create an SMTP user; its password is shown once',
    positionals: 1,
    async run(ctx) {
      const u = (await ctx.api.post<{ username: string; password: string }>(`/v1/domains/${seg(ctx.args[0])}/smtp-users`)).body;
      ctx.io.stdout(ctx.json ? json(u) : `${fields([['username', u.username], ['password', u.password]])}the password is shown only now: keep it\n`);
    },
  },
  list: {
    usage: '<domain-id>',
    summary: "the domain's SMTP users (never their passwords)",
    positionals: 1,
    async run(ctx) {
      const list = (await ctx.api.get<{ data: Array<{ username: string; createdAt: string }> }>(`/v1/domains/${seg(ctx.args[0])}/smtp-users`)).body;
      ctx.io.stdout(ctx.json ? json(list) : list.data.length ? table(['USERNAME', 'CREATED'], list.data.map((u) => [u.username, u.createdAt])) : 'no SMTP users\n');
    },
  },
  delete: {
    usage: '<domain-id> <username>',
    summary: 'remove an SMTP user (its open sessions end)',
    positionals: 2,
    async run(ctx) {
      await ctx.api.delete(`/v1/domains/${seg(ctx.args[0])}/smtp-users/${seg(ctx.args[1])}`);
      ctx.io.stdout(ctx.json ? json({ deleted: ctx.args[1] }) : `deleted ${ctx.args[1]}\n`);
    },
  },
};

const webhooks: CommandGroup = {
  add: {
    usage: '--url <url> --events <type,type,...> [--domain <id>]',
    summary: 'subscribe a URL to events; its signing secret is shown once',
    options: { url: { type: 'string' }, events: { type: 'string' }, domain: { type: 'string' } },
    async run(ctx) {
      const events = required(ctx, 'events').split(',').map((e) => e.trim()).filter(Boolean);
      const body = { url: required(ctx, 'url'), events, ...(typeof ctx.values.domain === 'string' ? { domainId: ctx.values.domain } : {}) };
      const w = (await ctx.api.post<Webhook>('/v1/webhooks', body)).body;
      ctx.io.stdout(ctx.json ? json(w) : `${fields([['id', w.id], ['url', w.url], ['events', w.events.join(', ')], ['secret', w.secret]])}the secret is shown only now: keep it\n`);
    },
  },
  list: {
    usage: '',
    summary: "the account's webhook subscriptions",
    async run(ctx) {
      const list = (await ctx.api.get<{ data: Webhook[] }>('/v1/webhooks')).body;
      if (ctx.json) return void ctx.io.stdout(json(list));
      ctx.io.stdout(list.data.length ? table(['ID', 'URL', 'EVENTS', 'DOMAIN', 'STATUS'], list.data.map((w) => [w.id, w.url, w.events.join(','), w.domainId, w.status])) : 'no webhooks\n');
    },
  },
};

const suppressions: CommandGroup = {
  list: {
    usage: '[--limit n] [--after cursor]',
    summary: "the account's suppression list",
    options: { limit: { type: 'string' }, after: { type: 'string' } },
    async run(ctx) {
      const q = new URLSearchParams();
      if (ctx.values.limit) q.set('limit', String(ctx.values.limit));
      if (ctx.values.after) q.set('after', String(ctx.values.after));
      const page = (await ctx.api.get<{ data: Suppression[]; nextCursor: string | null }>(`/v1/suppressions${q.size ? `?${q}` : ''}`)).body;
      if (ctx.json) return void ctx.io.stdout(json(page));
      const rows = page.data.map((s) => [s.address, s.reason, s.reply ? `${s.reply.code} ${s.reply.enhanced ?? ''} ${s.reply.message}`.replace(/\s+/g, ' ') : null, s.createdAt, s.expiresAt ?? 'never']);
      ctx.io.stdout(rows.length ? table(['ADDRESS', 'REASON', 'REPLY', 'ADDED', 'EXPIRES'], rows) : 'no suppressed addresses\n');
      if (page.nextCursor) ctx.io.stdout(`more: mailwarden suppressions list --after ${page.nextCursor}\n`);
    },
  },
  add: {
    usage: '<address> [--reason manual|bounce|complaint|unsubscribe] [--expires <ISO date-time>]',
    summary: 'suppress an address: RCPT TO it is refused',
    positionals: 1,
    options: { reason: { type: 'string' }, expires: { type: 'string' } },
    async run(ctx) {
      const body = { ...(ctx.values.reason ? { reason: ctx.values.reason } : {}), ...(ctx.values.expires ? { expiresAt: ctx.values.expires } : {}) };
      const s = (await ctx.api.put<Suppression>(`/v1/suppressions/${seg(ctx.args[0])}`, body)).body;
      ctx.io.stdout(ctx.json ? json(s) : `suppressed ${s.address} (${s.reason}${s.expiresAt ? `, until ${s.expiresAt}` : ''})\n`);
    },
  },
  remove: {
    usage: '<address>',
    summary: 'take an address off the list',
    positionals: 1,
    async run(ctx) {
      await ctx.api.delete(`/v1/suppressions/${seg(ctx.args[0])}`);
      ctx.io.stdout(ctx.json ? json({ removed: ctx.args[0] }) : `removed ${ctx.args[0]}\n`);
    },
  },
};

const scopeOptions = { domain: { type: 'string' }, account: { type: 'string' } } as const;

/** hold | release | retry | cancel: the same scope, the same answer. */
function queueOperation(name: string, summary: string, done: string): CommandGroup[string] {
  return {
    usage: '--domain <id> | --account <id>',
    summary: `${summary} (admin key)`,
    options: scopeOptions,
    async run(ctx) {
      const scope = queueScope(ctx)!;
      const r = (await ctx.api.post<{ messages: number; busy?: number }>(`/v1/admin/queue/${name}`, scope)).body;
      if (ctx.json) return void ctx.io.stdout(json(r));
      const what = 'domainId' in scope ? `domain ${scope.domainId}` : `account ${scope.accountId}`;
      ctx.io.stdout(`${what}: ${r.messages} message${r.messages === 1 ? '' : 's'} ${done}${r.busy ? `; ${r.busy} busy in a running attempt (cancel again)` : ''}\n`);
    },
  };
}

const queue: CommandGroup = {
  stats: {
    usage: '[--domain <id> | --account <id>]',
    summary: 'queue statistics by status, destination domain and age (admin key)',
    options: scopeOptions,
    async run(ctx) {
      const scope = queueScope(ctx, true);
      const q = scope ? `?${new URLSearchParams(scope as Record<string, string>)}` : '';
      const s = (await ctx.api.get<QueueStats>(`/v1/admin/queue/stats${q}`)).body;
      if (ctx.json) return void ctx.io.stdout(json(s));
      const byStatus = table(['STATUS', 'MESSAGES'], Object.entries(s.byStatus));
      const byAge = table(['AGE', 'MESSAGES'], s.byAge.map((a) => [a.age, a.messages]));
      const dest = s.byDestination.length
        ? table(['DESTINATION', 'RECIPIENTS', 'QUEUED', 'DEFERRED', 'HELD'], s.byDestination.map((d) => [d.domain, d.recipients, d.queued, d.deferred, d.held]))
        : 'no pending recipients\n';
      const jobs = s.jobs ? `\ndelivery jobs: ${Object.entries(s.jobs).map(([k, v]) => `${k} ${v}`).join(', ')}\n` : '';
      ctx.io.stdout(`${byStatus}\n${byAge}oldest unfinished: ${s.oldestAt ?? '-'}\n\n${dest}${jobs}`);
    },
  },
  hold: queueOperation('hold', 'hold all mail of a domain or an account', 'unfinished, held from now on'),
  release: queueOperation('release', 'release held mail: it is re-enqueued at once', 're-enqueued'),
  retry: queueOperation('retry', 'attempt deferred mail now', 'retried now'),
  cancel: queueOperation('cancel', 'cancel pending mail: its recipients fail (cancelled)', 'cancelled'),
};

/** Every operator command, by group (DESIGN §6 routes underneath). */
export const COMMANDS: Record<string, CommandGroup> = {
  accounts,
  domains: domainsCommands,
  'smtp-users': smtpUsers,
  webhooks,
  suppressions,
  queue,
};

export { UsageError };
