import { seg, UsageError, type CommandContext, type CommandGroup } from './command';
import { fields, json, table, type Cell } from './output';

/** What the CLI reads of the domain resource (DESIGN §6); fields other engineers add are shown when present. */
interface NameserverView {
  host: string;
  ip?: string | null;
  status: string;
  found?: string[];
  reason?: string | null;
}
interface RecordView {
  purpose: string;
  type: string;
  name: string;
  selector?: string;
  state?: string;
  value: string;
  status: string;
  found?: string[];
  reason?: string | null;
  hint?: string | null;
  nameservers?: NameserverView[];
}
export interface DomainView {
  id: string;
  domain: string;
  status: string;
  approval: string;
  sending: { allowed: boolean; reason: string };
  records: RecordView[];
  verification: { deadlineAt: string; lastCheckedAt: string | null; nextCheckAt: string | null; verifiedAt: string | null };
}

const ALGORITHMS = ['rsa-1024', 'rsa-2048', 'rsa-4096', 'ed25519'];
const DEFAULT_WATCH_INTERVAL_MS = 2000;

/** One line per domain. */
function domainRows(list: DomainView[]): string {
  return table(
    ['ID', 'DOMAIN', 'STATUS', 'APPROVAL', 'SENDING'],
    list.map((d) => [d.id, d.domain, d.status, d.approval, d.sending.allowed ? 'allowed' : `no: ${d.sending.reason}`]),
  );
}

/** The records to publish, one line each: name, type and the whole value. */
function publishList(records: RecordView[]): string {
  return table(
    ['PURPOSE', 'NAME', 'TYPE', 'VALUE'],
    records.map((r) => [r.selector ? `${r.purpose} (${r.state ?? r.selector.slice(0, 8)})` : r.purpose, r.name, r.type, r.value]),
  );
}

/** The propagation: one row per record and per authoritative nameserver. */
export function renderDomain(d: DomainView): string {
  const v = d.verification;
  const head = fields([
    ['domain', `${d.domain} (${d.id})`],
    ['status', d.status],
    ['approval', d.approval],
    ['sending', d.sending.allowed ? 'allowed' : `not allowed: ${d.sending.reason}`],
    ['last check', v.lastCheckedAt],
    ['next check', v.nextCheckAt],
    [d.status === 'verified' ? 'verified' : 'deadline', d.status === 'verified' ? v.verifiedAt : v.deadlineAt],
  ]);
  const rows: Cell[][] = [];
  for (const r of d.records) {
    const label = r.selector ? `dkim ${r.state ?? ''}`.trim() : r.purpose;
    const ns = r.nameservers ?? [];
    if (ns.length === 0) rows.push([label, r.name, r.status, '-', '-', r.hint ?? r.reason ?? '']);
    for (const n of ns) rows.push([label, r.name, r.status, n.ip ? `${n.host} (${n.ip})` : n.host, n.status, n.reason ?? r.hint ?? (n.found ?? []).join(' | ')]);
  }
  const records = table(['RECORD', 'NAME', 'STATUS', 'NAMESERVER', 'VERDICT', 'DETAIL'], rows);
  const missing = d.records.filter((r) => r.status !== 'pass');
  return `${head}\n${records}${missing.length && d.status !== 'verified' ? `\nto publish:\n${publishList(missing)}` : ''}`;
}

/** Redraws the domain every interval until it is verified (exit 0) or its window closed (exit 1). */
async function watch(ctx: CommandContext, id: string): Promise<number> {
  const interval = ctx.values.interval === undefined ? DEFAULT_WATCH_INTERVAL_MS : Number(ctx.values.interval);
  if (!Number.isInteger(interval) || interval < 100) throw new UsageError('--interval must be a whole number of milliseconds, at least 100');
  for (;;) {
    const d = (await ctx.api.get<DomainView>(`/v1/domains/${seg(id)}`)).body;
    // A terminal gets the frame redrawn in place; a pipe gets one frame after another.
    const frame = ctx.json ? JSON.stringify(d) + '\n' : `${renderDomain(d)}\n${d.status === 'verified' ? 'verified.' : `watching: every ${interval} ms until verified (Ctrl-C stops)`}\n`;
    ctx.io.stdout(ctx.io.stdoutIsTTY && !ctx.json ? `\x1b[H\x1b[2J${frame}` : frame);
    if (d.status === 'verified') return 0;
    if (d.status === 'failed') {
      ctx.io.stderr(`mailwarden: ${d.domain} failed verification: its window closed; \`mailwarden domains verify ${d.id}\` opens a new one\n`);
      return 1;
    }
    await ctx.sleep(interval);
  }
}

export const domainsCommands: CommandGroup = {
  add: {
    usage: '<domain> [--algorithm rsa-2048|rsa-1024|rsa-4096|ed25519]',
    summary: 'register a domain and list the DNS records to publish',
    positionals: 1,
    options: { algorithm: { type: 'string' } },
    async run(ctx) {
      const algorithm = ctx.values.algorithm as string | undefined;
      if (algorithm !== undefined && !ALGORITHMS.includes(algorithm)) throw new UsageError(`--algorithm must be one of ${ALGORITHMS.join(', ')}`);
      const d = (await ctx.api.post<DomainView>('/v1/domains', { domain: ctx.args[0], ...(algorithm ? { dkim: { algorithm } } : {}) })).body;
      ctx.io.stdout(ctx.json ? json(d) : `${fields([['id', d.id], ['domain', d.domain], ['status', d.status]])}\npublish these records:\n${publishList(d.records)}`);
    },
  },
  list: {
    usage: '[--limit n] [--after cursor]',
    summary: "the account's domains, a page at a time",
    options: { limit: { type: 'string' }, after: { type: 'string' } },
    async run(ctx) {
      const q = new URLSearchParams();
      if (ctx.values.limit) q.set('limit', String(ctx.values.limit));
      if (ctx.values.after) q.set('after', String(ctx.values.after));
      const page = (await ctx.api.get<{ data: DomainView[]; nextCursor: string | null }>(`/v1/domains${q.size ? `?${q}` : ''}`)).body;
      if (ctx.json) return void ctx.io.stdout(json(page));
      ctx.io.stdout(page.data.length ? domainRows(page.data) : 'no domains\n');
      if (page.nextCursor) ctx.io.stdout(`more: mailwarden domains list --after ${page.nextCursor}\n`);
    },
  },
  show: {
    usage: '<id> [--watch [--interval ms]]',
    summary: 'the domain and its records per nameserver; --watch redraws until verified',
    positionals: 1,
    options: { watch: { type: 'boolean', short: 'w' }, interval: { type: 'string' } },
    async run(ctx) {
      if (ctx.values.watch) return watch(ctx, ctx.args[0]);
      const d = (await ctx.api.get<DomainView>(`/v1/domains/${seg(ctx.args[0])}`)).body;
      ctx.io.stdout(ctx.json ? json(d) : renderDomain(d));
    },
  },
  verify: {
    usage: '<id>',
    summary: 'check the domain now (a failed one gets a new 72 h window)',
    positionals: 1,
    async run(ctx) {
      const d = (await ctx.api.post<DomainView>(`/v1/domains/${seg(ctx.args[0])}/verify`)).body;
      ctx.io.stdout(ctx.json ? json(d) : `check queued for ${d.domain} (status ${d.status})\n`);
    },
  },
  rotate: {
    usage: '<id>',
    summary: 'start a DKIM key rotation: a new selector to publish',
    positionals: 1,
    async run(ctx) {
      const d = (await ctx.api.post<DomainView>(`/v1/domains/${seg(ctx.args[0])}/dkim/rotate`)).body;
      if (ctx.json) return void ctx.io.stdout(json(d));
      const pending = d.records.filter((r) => r.purpose === 'dkim' && (r.state === 'pending' || r.status !== 'pass'));
      ctx.io.stdout(`rotation started for ${d.domain}; publish:\n${publishList(pending.length ? pending : d.records.filter((r) => r.purpose === 'dkim'))}`);
    },
  },
  delete: {
    usage: '<id>',
    summary: 'delete the domain: checks stop and its SMTP users go',
    positionals: 1,
    async run(ctx) {
      await ctx.api.delete(`/v1/domains/${seg(ctx.args[0])}`);
      ctx.io.stdout(ctx.json ? json({ deleted: ctx.args[0] }) : `deleted ${ctx.args[0]}\n`);
    },
  },
};
