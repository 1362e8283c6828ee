import { createServer, type AddressInfo } from 'node:net';
import { runMailwarden } from '../support/child-service';
import { createAccount, type TestAccount } from '../support/factories';
import { ADMIN_KEY, createTestContainer, type TestContainer } from '../support/services';
import type { RunningApi } from '../../src/container';

/** The operator CLI as a child process against a real API on a real port. */
describe('mailwarden CLI (operator commands over the HTTP API)', () => {
  let c: TestContainer;
  let api: RunningApi;
  let acct: TestAccount;
  let url: string;
  const base = () => ({ PATH: process.env.PATH, MAILWARDEN_URL: url });
  const as = (key: string) => (...args: string[]) => runMailwarden(args, { ...base(), MAILWARDEN_API_KEY: key });
  const admin = (...args: string[]) => as(ADMIN_KEY)(...args);
  const owner = (...args: string[]) => as(acct.apiKey)(...args);

  beforeAll(async () => {
    c = await createTestContainer({ PORT: '0', HOST: '127.0.0.1', WEBHOOK_ALLOW_PRIVATE: 'true' });
    api = await c.start('api');
    url = `http://127.0.0.1:${api.port}`;
    acct = await createAccount(c.http, 'CLI Co');
  });
  afterAll(async () => {
    await api.close();
    await c.dispose();
  });

  it('creates an account with the admin key: a table, or --json', async () => {
    const r = await admin('accounts', 'create', '--name', 'Operator Co');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^id {7}acc_\S+\nname {5}Operator Co\napi key {2}mwk_\S+\nthe API key is shown only now/);
    const j = await admin('accounts', 'create', '--name', 'Json Co', '--json');
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ id: expect.stringMatching(/^acc_/), name: 'Json Co', apiKey: expect.stringMatching(/^mwk_/), createdAt: expect.any(String) });
  });

  it('adds, lists, shows and deletes a domain', async () => {
    const added = await owner('domains', 'add', 'cli.example.com', '--algorithm', 'ed25519');
    expect(added.code).toBe(0);
    const id = /^id\s+(\S+)/.exec(added.stdout)![1];
    expect(added.stdout).toContain('publish these records:\nPURPOSE');
    expect(added.stdout).toMatch(/\nspf\s+cli\.example\.com\s+TXT\s+v=spf1 /);
    expect(added.stdout).toMatch(/\ndkim \(\S+\)\s+\S+\._domainkey\.cli\.example\.com\s+TXT\s+v=DKIM1; k=ed25519; p=/);

    const list = await owner('domains', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+DOMAIN\s+STATUS\s+APPROVAL\s+SENDING$/);
    expect(list.stdout).toMatch(new RegExp(`\\n${id}\\s+cli\\.example\\.com\\s+pending\\s+not_submitted\\s+no: `));
    const listed = JSON.parse((await owner('domains', 'list', '--json')).stdout);
    expect(listed.data.map((d: { id: string }) => d.id)).toEqual([id]);

    const shown = await owner('domains', 'show', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^domain\s+cli\.example\.com \(dom_\S+\)\nstatus\s+pending\n/);
    expect(shown.stdout).toMatch(/\nRECORD\s+NAME\s+STATUS\s+NAMESERVER\s+VERDICT\s+DETAIL\nspf\s+cli\.example\.com\s+pending\s+-\s+-/);
    expect(shown.stdout).toContain('\nto publish:\n');
    expect(JSON.parse((await owner('domains', 'show', id, '--json')).stdout)).toMatchObject({ id, domain: 'cli.example.com', status: 'pending' });

    const verify = await owner('domains', 'verify', id);
    expect(verify).toMatchObject({ code: 0, stdout: 'check queued for cli.example.com (status pending)\n' });
    // A rotation: the new selector to publish, then the API's 409 while it is pending.
    const rotated = await owner('domains', 'rotate', id);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^rotation started for cli\.example\.com; publish:\n/);
    const pending = JSON.parse((await owner('domains', 'show', id, '--json')).stdout).records.find((r: { state?: string }) => r.state === 'pending');
    expect(rotated.stdout).toContain(pending.name);
    const again = await owner('domains', 'rotate', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^mailwarden: 409 Conflict: /);
    expect(await owner('domains', 'delete', id)).toMatchObject({ code: 0, stdout: `deleted ${id}\n` });
    const gone = await owner('domains', 'show', id);
    expect(gone).toMatchObject({ code: 1, stdout: '', stderr: 'mailwarden: 404 Not Found: domain not found\n' });
  });

  it('manages SMTP users, webhooks and suppressions', async () => {
    const id = /^id\s+(\S+)/.exec((await owner('domains', 'add', 'users.example.com')).stdout)![1];
    const user = await owner('smtp-users', 'add', id);
    expect(user.code).toBe(0);
    const username = /^username\s+(\S+)/.exec(user.stdout)![1];
    expect(user.stdout).toMatch(/\npassword\s+\S{16,}\n/);
    const users = await owner('smtp-users', 'list', id);
    expect(users.stdout).toMatch(new RegExp(`^USERNAME\\s+CREATED\\n${username}\\s+\\d{4}-`));
    expect(await owner('smtp-users', 'delete', id, username)).toMatchObject({ code: 0, stdout: `deleted ${username}\n` });
    expect((await owner('smtp-users', 'list', id)).stdout).toBe('no SMTP users\n');

    const hook = await owner('webhooks', 'add', '--url', 'http://127.0.0.1:9/hook', '--events', 'domain.verified,message.bounced', '--domain', id);
    expect(hook.code).toBe(0);
    expect(hook.stdout).toMatch(/\nsecret\s+whsec_\S+\n/);
    const hooks = await owner('webhooks', 'list');
    expect(hooks.stdout).toMatch(new RegExp(`\\nwhk_\\S+\\s+http://127\\.0\\.0\\.1:9/hook\\s+domain\\.verified,message\\.bounced\\s+${id}\\s+active\\n`));

    expect(await owner('suppressions', 'add', 'Someone@Bounce.Example')).toMatchObject({ code: 0, stdout: 'suppressed Someone@bounce.example (manual)\n' });
    const sup = await owner('suppressions', 'list');
    expect(sup.stdout).toMatch(/^ADDRESS\s+REASON\s+REPLY\s+ADDED\s+EXPIRES\nSomeone@bounce\.example\s+manual\s+-\s+\S+\s+never\n$/);
    expect(JSON.parse((await owner('suppressions', 'list', '--json')).stdout).data).toHaveLength(1);
    expect(await owner('suppressions', 'remove', 'Someone@bounce.example')).toMatchObject({ code: 0 });
    expect((await owner('suppressions', 'list')).stdout).toBe('no suppressed addresses\n');
  });

  it('steers the queue with the admin key: stats, hold, release, retry', async () => {
    const id = /^id\s+(\S+)/.exec((await owner('domains', 'add', 'queue.example.com')).stdout)![1];
    expect(await admin('queue', 'hold', '--domain', id)).toMatchObject({ code: 0, stdout: `domain ${id}: 0 messages unfinished, held from now on\n` });
    expect(await admin('queue', 'release', '--domain', id)).toMatchObject({ code: 0, stdout: `domain ${id}: 0 messages re-enqueued\n` });
    expect(await admin('queue', 'retry', '--account', acct.id)).toMatchObject({ code: 0, stdout: `account ${acct.id}: 0 messages retried now\n` });
    const stats = await admin('queue', 'stats');
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^STATUS\s+MESSAGES\nqueued\s+0\nsending\s+0\ndeferred\s+0\nheld\s+0\ndelivered\s+0\nbounced\s+0\nfailed\s+0\n\nAGE\s+MESSAGES\n<5m\s+0\n/);
    expect(stats.stdout).toMatch(/\ndelivery jobs: waiting 0, active 0, delayed 0, failed 0\n$/);
    const scoped = JSON.parse((await admin('queue', 'stats', '--domain', id, '--json')).stdout);
    expect(scoped).toMatchObject({ scope: { domainId: id }, jobs: null, byDestination: [] });
  });

  it('exits 2 on a bad command line, with the usage', async () => {
    const unknown = await owner('domains', 'frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^mailwarden: unknown command: domains frobnicate\nusage: mailwarden <api\|worker\|relay\|bounce\|all>/);
    expect(await owner('domains', 'show')).toMatchObject({ code: 2, stderr: 'mailwarden: expected 1 argument, got 0\nusage: mailwarden domains show <id> [--watch [--interval ms]] [--json]\n' });
    const badOption = await owner('domains', 'list', '--colour');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/^mailwarden: Unknown option '--colour'/);
    expect((await owner('domains', 'add', 'x.example', '--algorithm', 'dsa')).code).toBe(2);
    expect(await admin('queue', 'hold')).toMatchObject({ code: 2, stderr: 'mailwarden: --domain <id> or --account <id> is required\nusage: mailwarden queue hold --domain <id> | --account <id> [--json]\n' });
    const noKey = await runMailwarden(['domains', 'list'], base());
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/set MAILWARDEN_API_KEY/);
    const help = await runMailwarden(['help'], base());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('  queue stats [--domain <id> | --account <id>]\n');
  });

  it("exits 1 on the API's refusals, naming each bad field, and when the API cannot be reached", async () => {
    const bad = await owner('domains', 'add', 'not a domain');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^mailwarden: 400 Bad Request: domain must not contain spaces or control characters\n {2}domain: must not contain spaces or control characters\n$/);
    expect(await owner('queue', 'stats')).toMatchObject({ code: 1, stderr: 'mailwarden: 403 Forbidden: this route needs the admin key\n' });
    const wrongKey = await as('mwk_not_a_key')('domains', 'list');
    expect(wrongKey).toMatchObject({ code: 1, stderr: 'mailwarden: 401 Unauthorized: the API key is not valid\n' });
    // A port nobody listens on: one that was free a moment ago.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const down = await runMailwarden(['domains', 'list'], { PATH: process.env.PATH, MAILWARDEN_URL: `http://127.0.0.1:${closed}`, MAILWARDEN_API_KEY: acct.apiKey });
    expect(down).toMatchObject({ code: 1, stderr: `mailwarden: cannot reach http://127.0.0.1:${closed}: ECONNREFUSED (is MAILWARDEN_URL right?)\n` });
  });
});
