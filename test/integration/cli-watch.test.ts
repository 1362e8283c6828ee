import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { RunningApi, RunningWorkerRole } from '../../src/container';
import { mailwardenCommand, runMailwarden } from '../support/child-service';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';

const INCLUDE = '_spf.mw.test';
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `mailwarden domains show <id> --watch` in a real terminal: tmux runs it in a pane (a tty),
 * and the test reads the screen with capture-pane while the domain's records propagate.
 * tmux runs on a socket of its own, killed at the end (.ci/run installs tmux).
 */
describe('mailwarden domains show --watch', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let api: RunningApi;
  let workers: RunningWorkerRole;
  let acct: TestAccount;
  /** The domain the first test brings to verified. */
  let verifiedId = '';
  const socket = `mw-watch-${randomBytes(4).toString('hex')}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-t', 'watch');

  beforeAll(async () => {
    dns = await DnsFixture.start(['watch.test', 'mw.test']);
    dns.publish(INCLUDE, 'TXT', [['v=spf1 ip4:192.0.2.0/24 -all']]);
    c = await createTestContainer({ ...dns.env(), PORT: '0', HOST: '127.0.0.1', SPF_INCLUDE_DOMAIN: INCLUDE, PROPAGATION_SCHEDULE: '300ms', SWEEP_INTERVAL_MS: '150' }, { jitter: (ms) => ms });
    api = await c.start('api');
    workers = await c.start('worker', { workers: { dnsConcurrency: 2 } });
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      // no session was started
    }
    await workers.close();
    await api.close();
    await c.dispose();
    await dns.close();
  });

  it('redraws the verdict per record and per nameserver in place until the domain is verified, then exits 0', async () => {
    const d = await registerDomain(c.http, acct, 'watch.test', 'ed25519');
    const env = `MAILWARDEN_URL=${quote(`http://127.0.0.1:${api.port}`)} MAILWARDEN_API_KEY=${quote(acct.apiKey)}`;
    const cmd = `${env} ${mailwardenCommand().map(quote).join(' ')} domains show ${d.id} --watch --interval 200; echo "exit=$?"; sleep 600`;
    tmux('new-session', '-d', '-s', 'watch', '-x', '250', '-y', '60', cmd);

    // Before anything is published: each record is checked on both nameservers, and fails there.
    const before = await eventually(screen, { until: (s) => /\nspf\s+watch\.test\s+fail\s+ns2\.watch\.test \(127\.0\.0\.12\)\s+fail/.test(s), timeoutMs: 30_000, message: 'a failed check on screen' });
    expect(before).toMatch(/\nspf\s+watch\.test\s+fail\s+ns1\.watch\.test \(127\.0\.0\.11\)\s+fail/);
    expect(before).toMatch(/\ndkim active\s+\S+\._domainkey\.watch\.test\s+fail\s+ns1\.watch\.test/);
    expect(before).toContain('watching: every 200 ms until verified');

    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    const after = await eventually(screen, { until: (s) => s.includes('exit=0'), timeoutMs: 30_000, message: 'the watch to end' });
    // Redrawn in place: the screen holds one frame, the last one.
    expect(after.match(/^domain /gm)).toHaveLength(1);
    expect(after).toMatch(/^status\s+verified$/m);
    for (const ns of ['ns1.watch.test (127.0.0.11)', 'ns2.watch.test (127.0.0.12)']) {
      expect(after).toMatch(new RegExp(`\\nspf\\s+watch\\.test\\s+pass\\s+${ns.replace(/[.()]/g, '\\$&')}\\s+pass`));
      expect(after).toMatch(new RegExp(`\\ndkim active\\s+\\S+\\._domainkey\\.watch\\.test\\s+pass\\s+${ns.replace(/[.()]/g, '\\$&')}\\s+pass`));
    }
    expect(after).toMatch(/\nverified\.\nexit=0/);
    expect(after).not.toContain('to publish');
    verifiedId = d.id;
  });

  it('ends at once on a verified domain, with one plain frame when stdout is not a terminal', async () => {
    const id = verifiedId;
    const r = await runMailwarden(['domains', 'show', id, '--watch', '--json'], { PATH: process.env.PATH, MAILWARDEN_URL: `http://127.0.0.1:${api.port}`, MAILWARDEN_API_KEY: acct.apiKey });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    const frames = r.stdout.trim().split('\n');
    expect(frames).toHaveLength(1);
    expect(JSON.parse(frames[0])).toMatchObject({ id, status: 'verified' });
  });
});
