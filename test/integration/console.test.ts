import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import request from 'supertest';
import type { RunningApi, RunningWorkerRole } from '../../src/container';
import { startBrowser, type TestBrowser } from '../support/browser';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { createAccount, spooledMessage, type TestAccount } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';

const INCLUDE = '_spf.mw.test';
const DOMAIN = 'console.example.test';
const HOSTILE = 'v=spf1 <script>window.__xss=1</script><img src=x onerror="window.__xss=2"> -all';
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const WAIT = { timeout: 20_000 };

describe('the owner console in headless Chromium, against the running API, a worker and the test DNS', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let api: RunningApi;
  let workers: RunningWorkerRole;
  let acct: TestAccount;
  let browser: TestBrowser;
  let page: Page;
  let base: string;
  let domainId: string;
  const requests: string[] = [];
  const problems: string[] = [];
  const domainPolls: number[] = [];

  beforeAll(async () => {
    dns = await DnsFixture.start(['example.test', 'mw.test']);
    dns.publish(INCLUDE, 'TXT', ['v=spf1 ip4:192.0.2.0/24 -all']);
    c = await createTestContainer(
      {
        ...dns.env(),
        HOST: '127.0.0.1',
        PORT: '0',
        SPF_INCLUDE_DOMAIN: INCLUDE,
        PROPAGATION_SCHEDULE: '200ms',
        SWEEP_INTERVAL_MS: '150',
        // Once verified the domain stays still, so the page's polls answer 304.
        RECHECK_INTERVAL_MS: '3600000',
        APPROVAL_MODE: 'auto',
        WEBHOOK_ALLOW_PRIVATE: 'true',
      },
      { jitter: (ms) => ms },
    );
    api = await c.start('api');
    workers = await c.start('worker', { workers: { dnsConcurrency: 2 } });
    acct = await createAccount(c.http);
    base = `http://127.0.0.1:${api.port}`;
    browser = await startBrowser();
    browser.context.on('request', (r) => requests.push(r.url()));
    page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (/\/v1\/domains\/dom_[^/?]+$/.test(r.url()) && r.request().method() === 'GET') domainPolls.push(r.status());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await workers?.close();
    await api?.close();
    await c?.dispose();
    await dns?.close();
  });

  const cell = (purpose: string, ns: string) => page.locator(`table.propagation tr[data-purpose="${purpose}"] td[data-nameserver="${ns}"]`);

  it('signs in with a pasted API key, kept in sessionStorage only', async () => {
    await page.goto(`${base}/console`);
    await page.getByLabel('API key').fill('mwk_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That key was refused.').waitFor(WAIT);

    await page.getByLabel('API key').fill(acct.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No domains yet.').waitFor(WAIT);
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([acct.apiKey]);
    expect(await browser.context.cookies()).toEqual([]);
    expect(page.url()).not.toContain(acct.apiKey);
  });

  it('adds a domain with the chosen algorithm and lists its records with copy buttons', async () => {
    await page.getByLabel('Domain', { exact: true }).fill(DOMAIN);
    await page.getByLabel('DKIM algorithm').selectOption('rsa-2048');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('heading', { level: 1, name: DOMAIN }).waitFor(WAIT);
    domainId = /#\/domains\/(dom_[^/]+)$/.exec(page.url())![1];

    const d = (await request(c.http).get(`/v1/domains/${domainId}`).set(acct.auth).expect(200)).body;
    const dkim = d.records.find((r: { purpose: string }) => r.purpose === 'dkim');
    expect(dkim.strings.length).toBeGreaterThan(1);
    const card = page.locator('article.record[data-purpose="dkim"]');
    // The host label relative to the zone, and each 255-byte string with its own copy button.
    await card.getByText(dkim.host ?? `${dkim.selector}._domainkey`, { exact: true }).waitFor(WAIT);
    for (const s of dkim.strings) await card.getByText(s, { exact: true }).waitFor(WAIT);
    expect(await card.getByRole('button', { name: /^Copy DKIM .* string \d$/ }).count()).toBe(dkim.strings.length);
    await page.getByRole('heading', { name: 'Status' }).waitFor(WAIT);
    expect(await page.getByTestId('countdown').textContent()).toMatch(/^7[01]h \d\dm \d\ds$/);
  });

  it('shows ns1 pass and ns2 fail while only ns1 has the records, and a hostile TXT value as text', async () => {
    const d = (await request(c.http).get(`/v1/domains/${domainId}`).set(acct.auth).expect(200)).body;
    const spf = d.records.find((r: { purpose: string }) => r.purpose === 'spf');
    const dkim = d.records.find((r: { purpose: string }) => r.purpose === 'dkim');
    dns.publish(spf.name, 'TXT', [spf.strings], [dns.ns1, dns.resolver]);
    dns.publish(dkim.name, 'TXT', [dkim.strings], [dns.ns1, dns.resolver]);
    dns.publish(spf.name, 'TXT', [[HOSTILE]], [dns.ns2]);

    for (const purpose of ['spf', 'dkim']) {
      await cell(purpose, 'ns1.example.test').and(page.locator('[data-status="pass"]')).waitFor(WAIT);
      await cell(purpose, 'ns2.example.test').and(page.locator('[data-status="fail"]')).waitFor(WAIT);
    }
    await cell('spf', 'ns2.example.test').getByText(HOSTILE, { exact: true }).waitFor(WAIT);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('#app script, #app img').count()).toBe(0);
    expect(await page.locator('.badges [data-value="pending"]').count()).toBe(1);

    mkdirSync(ARTIFACTS, { recursive: true });
    for (const width of [375, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      // Nothing may be wider than the window: no sideways scrolling at 375 px.
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, `console-domain-${width}.png`), fullPage: true });
    }
    // The top of the page down to the propagation table, for the README.
    const table = (await page.locator('section[aria-labelledby="propagation-title"]').boundingBox())!;
    await page.screenshot({ path: join(ARTIFACTS, 'console-domain-1440-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1440, height: table.y + table.height + 16 } });
  });

  it('turns the badge verified without a reload once both nameservers answer, then polls with 304s', async () => {
    await page.evaluate('window.__sameDocument = true');
    const d = (await request(c.http).get(`/v1/domains/${domainId}`).set(acct.auth).expect(200)).body;
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings], [dns.ns2]);

    await page.locator('.badges [data-value="verified"]').waitFor(WAIT);
    await cell('spf', 'ns2.example.test').and(page.locator('[data-status="pass"]')).waitFor(WAIT);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await page.locator('.badges [data-value="allowed"]').count()).toBe(1);
    await page.locator('section[aria-labelledby="checks-title"] tbody tr [data-value="pass"]').first().waitFor(WAIT);

    // The domain no longer changes, so each poll sends If-None-Match and costs a 304.
    const seen = domainPolls.length;
    await eventually(() => domainPolls.slice(seen), { until: (polls) => polls.includes(304), timeoutMs: 15_000, message: '304 polls' });
    expect(domainPolls.every((s) => s === 200 || s === 304)).toBe(true);
  });

  it('creates an SMTP user and shows its password once', async () => {
    await page.getByRole('button', { name: 'Create SMTP user' }).click();
    const shown = page.getByTestId('smtp-password');
    await shown.waitFor(WAIT);
    expect(await shown.textContent()).toContain('shown only this once');
    const password = await shown.locator('code').nth(1).textContent();
    expect(password).toMatch(/^\S{16,}$/);

    await page.reload();
    await page.getByRole('heading', { level: 1, name: DOMAIN }).waitFor(WAIT);
    await page.locator('section[aria-labelledby="smtp-users-title"] ul.rows code').waitFor(WAIT);
    expect(await page.getByTestId('smtp-password').count()).toBe(0);
    expect(await page.content()).not.toContain(password!);
  });

  it("shows the API's problem+json beside the allowed-IPs field", async () => {
    const field = page.getByLabel(/Addresses and networks/);
    await field.fill('192.0.2.10\n10.0.0.0/33');
    await page.getByRole('button', { name: 'Save allowed IPs' }).click();
    const errors = page.locator('#allowed-ips-errors');
    await errors.waitFor(WAIT);
    expect(await errors.textContent()).toContain('cidrs.1');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('aria-describedby')).toContain('allowed-ips-errors');

    await field.fill('192.0.2.10\n2001:db8::/48');
    await page.getByRole('button', { name: 'Save allowed IPs' }).click();
    await eventually(async () => (await request(c.http).get(`/v1/domains/${domainId}/allowed-ips`).set(acct.auth)).body.cidrs, {
      until: (cidrs) => cidrs?.length === 2,
      message: 'the saved allowlist',
    });
    expect(await errors.count()).toBe(0);
  });

  it('adds a webhook, shows its secret once, sends a test event and lists its delivery', async () => {
    const received: string[] = [];
    const receiver: Server = createServer((req, res) => {
      received.push(req.headers['webhook-id'] as string);
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByText('No webhooks.').waitFor(WAIT);
      await page.getByRole('button', { name: 'Add webhook' }).click();
      // The API's problems, beside their fields.
      await page.locator('#wh-url-errors').waitFor(WAIT);
      await page.locator('#wh-events-errors').waitFor(WAIT);

      await page.getByLabel('Endpoint URL').fill(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
      await page.getByLabel('domain.verified').check();
      await page.getByRole('button', { name: 'Add webhook' }).click();
      await page.getByText('Copy the signing secret now.').waitFor(WAIT);
      expect(await page.locator('.secret code').textContent()).toMatch(/^whsec_/);

      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.getByText(/Test event \S+ queued\./).waitFor(WAIT);
      await page.getByRole('button', { name: 'Show delivery log' }).click();
      await eventually(
        async () => {
          await page.getByRole('button', { name: 'Refresh log' }).click();
          return page.locator('.deliveries td code', { hasText: 'webhook.test' }).count();
        },
        { until: (n) => n > 0, timeoutMs: 15_000, message: 'the test delivery in the log' },
      );
      expect(received.length).toBeGreaterThan(0);

      await page.reload();
      await page.locator('li.webhook').waitFor(WAIT);
      expect(await page.getByText('Copy the signing secret now.').count()).toBe(0);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('adds and removes a suppression', async () => {
    await page.getByRole('link', { name: 'Suppressions' }).click();
    await page.getByText('No address is suppressed.').waitFor(WAIT);
    await page.getByLabel('Address', { exact: true }).fill('Gone@Example.NET');
    await page.getByRole('button', { name: 'Suppress' }).click();
    await page.getByRole('rowheader', { name: 'Gone@example.net' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Remove Gone@example.net' }).click();
    await page.getByText('No address is suppressed.').waitFor(WAIT);
  });

  it('looks up a message by queue id with each recipient\'s status', async () => {
    const doc = spooledMessage({ accountId: acct.id, domain: { id: domainId, domain: DOMAIN }, to: ['a@example.net', 'b@example.net'], raw: 'Subject: x\r\n\r\nHi\r\n' });
    await c.messages.insert(doc);
    await page.getByRole('link', { name: 'Messages' }).click();
    await page.getByLabel('Queue id').fill('nosuchmessage');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByText('No message with that queue id').waitFor(WAIT);

    await page.getByLabel('Queue id').fill(doc._id);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('heading', { name: `Message ${doc._id}` }).waitFor(WAIT);
    for (const address of ['a@example.net', 'b@example.net']) {
      const row = page.getByRole('row', { name: new RegExp(address) });
      expect(await row.locator('[data-value]').getAttribute('data-value')).toBe('queued');
    }
  });

  it('made no request to another origin and broke no CSP rule', () => {
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((u) => !u.startsWith(`${base}/`))).toEqual([]);
    expect(problems).toEqual([]);
  });
});
