import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { consoleWorld, expectOwnOriginOnly, propagationCell, WAIT } from '../support/console-fixture';
import { eventually } from '../support/eventually';
import { spooledMessage } from '../support/factories';

const DOMAIN = 'console.example.test';
const HOSTILE = 'v=spf1 <script>window.__xss=1</script><img src=x onerror="window.__xss=2"> -all';
const ARTIFACTS = join(__dirname, '..', 'artifacts');

describe('the owner console in headless Chromium, against the running API, a worker and the test DNS', () => {
  const w = consoleWorld({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  let domainId: string;

  const cell = (purpose: string, ns: string) => propagationCell(w.page, 'domain-propagation', purpose, ns);

  it('signs in with a pasted API key, kept in sessionStorage only', async () => {
    await w.page.goto(`${w.base}/console`);
    await w.page.getByLabel('API key').fill('mwk_not_a_key');
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await w.page.getByText('That key was refused.').waitFor(WAIT);

    await w.page.getByLabel('API key').fill(w.acct.apiKey);
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await w.page.getByText('No domains yet.').waitFor(WAIT);
    expect(await w.page.evaluate('Object.values(sessionStorage)')).toEqual([w.acct.apiKey]);
    expect(await w.browser.context.cookies()).toEqual([]);
    expect(w.page.url()).not.toContain(w.acct.apiKey);
  });

  it('adds a domain with the chosen algorithm and lists its records with copy buttons', async () => {
    await w.page.getByLabel('Domain', { exact: true }).fill(DOMAIN);
    await w.page.getByLabel('DKIM algorithm').selectOption('rsa-2048');
    await w.page.getByRole('button', { name: 'Add domain' }).click();
    await w.page.getByRole('heading', { level: 1, name: DOMAIN }).waitFor(WAIT);
    domainId = /#\/domains\/(dom_[^/]+)$/.exec(w.page.url())![1];

    const d = (await request(w.c.http).get(`/v1/domains/${domainId}`).set(w.acct.auth).expect(200)).body;
    const dkim = d.records.find((r: { purpose: string }) => r.purpose === 'dkim');
    expect(dkim.strings.length).toBeGreaterThan(1);
    const card = w.page.locator('article.record[data-purpose="dkim"]');
    // The host label relative to the zone, and each 255-byte string with its own copy button.
    await card.getByText(dkim.host ?? `${dkim.selector}._domainkey`, { exact: true }).waitFor(WAIT);
    for (const s of dkim.strings) await card.getByText(s, { exact: true }).waitFor(WAIT);
    expect(await card.getByRole('button', { name: /^Copy DKIM .* string \d$/ }).count()).toBe(dkim.strings.length);
    await w.page.getByRole('heading', { name: 'Status' }).waitFor(WAIT);
    expect(await w.page.getByTestId('countdown').textContent()).toMatch(/^7[01]h \d\dm \d\ds$/);
  });

  it('shows ns1 pass and ns2 fail while only ns1 has the records, and a hostile TXT value as text', async () => {
    const d = (await request(w.c.http).get(`/v1/domains/${domainId}`).set(w.acct.auth).expect(200)).body;
    const spf = d.records.find((r: { purpose: string }) => r.purpose === 'spf');
    const dkim = d.records.find((r: { purpose: string }) => r.purpose === 'dkim');
    w.dns.publish(spf.name, 'TXT', [spf.strings], [w.dns.ns1, w.dns.resolver]);
    w.dns.publish(dkim.name, 'TXT', [dkim.strings], [w.dns.ns1, w.dns.resolver]);
    w.dns.publish(spf.name, 'TXT', [[HOSTILE]], [w.dns.ns2]);

    for (const purpose of ['spf', 'dkim']) {
      await cell(purpose, 'ns1.example.test').and(w.page.locator('[data-status="pass"]')).waitFor(WAIT);
      await cell(purpose, 'ns2.example.test').and(w.page.locator('[data-status="fail"]')).waitFor(WAIT);
    }
    await cell('spf', 'ns2.example.test').getByText(HOSTILE, { exact: true }).waitFor(WAIT);
    expect(await w.page.evaluate('window.__xss')).toBeUndefined();
    expect(await w.page.locator('#app script, #app img').count()).toBe(0);
    expect(await w.page.locator('.badges [data-value="pending"]').count()).toBe(1);

    mkdirSync(ARTIFACTS, { recursive: true });
    for (const width of [375, 1440]) {
      await w.page.setViewportSize({ width, height: 900 });
      // Nothing may be wider than the window: no sideways scrolling at 375 px.
      expect(await w.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await w.page.screenshot({ path: join(ARTIFACTS, `console-domain-${width}.png`), fullPage: true });
    }
    // The top of the page down to the propagation table, for the README.
    const table = (await w.page.locator('section[aria-labelledby="propagation-title"]').boundingBox())!;
    await w.page.screenshot({ path: join(ARTIFACTS, 'console-domain-1440-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1440, height: table.y + table.height + 16 } });
  });

  it('turns the badge verified without a reload once both nameservers answer, then polls with 304s', async () => {
    await w.page.evaluate('window.__sameDocument = true');
    const d = (await request(w.c.http).get(`/v1/domains/${domainId}`).set(w.acct.auth).expect(200)).body;
    for (const r of d.records) w.dns.publish(r.name, 'TXT', [r.strings], [w.dns.ns2]);

    await w.page.locator('.badges [data-value="verified"]').waitFor(WAIT);
    await cell('spf', 'ns2.example.test').and(w.page.locator('[data-status="pass"]')).waitFor(WAIT);
    expect(await w.page.evaluate('window.__sameDocument')).toBe(true);
    expect(await w.page.locator('.badges [data-value="allowed"]').count()).toBe(1);
    await w.page.locator('section[aria-labelledby="checks-title"] tbody tr [data-value="pass"]').first().waitFor(WAIT);

    // The domain no longer changes, so each poll sends If-None-Match and costs a 304.
    const seen = w.domainPolls.length;
    await eventually(() => w.domainPolls.slice(seen), { until: (polls) => polls.includes(304), timeoutMs: 15_000, message: '304 polls' });
    expect(w.domainPolls.every((s) => s === 200 || s === 304)).toBe(true);
  });

  it('creates an SMTP user and shows its password once', async () => {
    await w.page.getByRole('button', { name: 'Create SMTP user' }).click();
    const shown = w.page.getByTestId('smtp-password');
    await shown.waitFor(WAIT);
    expect(await shown.textContent()).toContain('shown only this once');
    const password = await shown.locator('code').nth(1).textContent();
    expect(password).toMatch(/^\S{16,}$/);

    await w.page.reload();
    await w.page.getByRole('heading', { level: 1, name: DOMAIN }).waitFor(WAIT);
    await w.page.locator('section[aria-labelledby="smtp-users-title"] ul.rows code').waitFor(WAIT);
    expect(await w.page.getByTestId('smtp-password').count()).toBe(0);
    expect(await w.page.content()).not.toContain(password!);
  });

  it("shows the API's problem+json beside the allowed-IPs field", async () => {
    const field = w.page.getByLabel(/Addresses and networks/);
    await field.fill('192.0.2.10\n10.0.0.0/33');
    await w.page.getByRole('button', { name: 'Save allowed IPs' }).click();
    const errors = w.page.locator('#allowed-ips-errors');
    await errors.waitFor(WAIT);
    expect(await errors.textContent()).toContain('cidrs.1');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('aria-describedby')).toContain('allowed-ips-errors');

    await field.fill('192.0.2.10\n2001:db8::/48');
    await w.page.getByRole('button', { name: 'Save allowed IPs' }).click();
    await eventually(async () => (await request(w.c.http).get(`/v1/domains/${domainId}/allowed-ips`).set(w.acct.auth)).body.cidrs, {
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
      await w.page.getByRole('link', { name: 'Webhooks' }).click();
      await w.page.getByText('No webhooks.').waitFor(WAIT);
      await w.page.getByRole('button', { name: 'Add webhook' }).click();
      // The API's problems, beside their fields.
      await w.page.locator('#wh-url-errors').waitFor(WAIT);
      await w.page.locator('#wh-events-errors').waitFor(WAIT);

      await w.page.getByLabel('Endpoint URL').fill(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
      await w.page.getByLabel('domain.verified').check();
      await w.page.getByRole('button', { name: 'Add webhook' }).click();
      await w.page.getByText('Copy the signing secret now.').waitFor(WAIT);
      expect(await w.page.locator('.secret code').textContent()).toMatch(/^whsec_/);

      await w.page.getByRole('button', { name: 'Send test event' }).click();
      await w.page.getByText(/Test event \S+ queued\./).waitFor(WAIT);
      await w.page.getByRole('button', { name: 'Show delivery log' }).click();
      await eventually(
        async () => {
          await w.page.getByRole('button', { name: 'Refresh log' }).click();
          return w.page.locator('.deliveries td code', { hasText: 'webhook.test' }).count();
        },
        { until: (n) => n > 0, timeoutMs: 15_000, message: 'the test delivery in the log' },
      );
      expect(received.length).toBeGreaterThan(0);

      await w.page.reload();
      await w.page.locator('li.webhook').waitFor(WAIT);
      expect(await w.page.getByText('Copy the signing secret now.').count()).toBe(0);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('adds and removes a suppression', async () => {
    await w.page.getByRole('link', { name: 'Suppressions' }).click();
    await w.page.getByText('No address is suppressed.').waitFor(WAIT);
    await w.page.getByLabel('Address', { exact: true }).fill('Gone@Example.NET');
    await w.page.getByRole('button', { name: 'Suppress' }).click();
    await w.page.getByRole('rowheader', { name: 'Gone@example.net' }).waitFor(WAIT);
    await w.page.getByRole('button', { name: 'Remove Gone@example.net' }).click();
    await w.page.getByText('No address is suppressed.').waitFor(WAIT);
  });

  it('looks up a message by queue id with each recipient\'s status', async () => {
    const doc = spooledMessage({ accountId: w.acct.id, domain: { id: domainId, domain: DOMAIN }, to: ['a@example.net', 'b@example.net'], raw: 'Subject: x\r\n\r\nHi\r\n' });
    await w.c.messages.insert(doc);
    await w.page.getByRole('link', { name: 'Messages' }).click();
    await w.page.getByLabel('Queue id').fill('nosuchmessage');
    await w.page.getByRole('button', { name: 'Look up' }).click();
    await w.page.getByText('No message with that queue id').waitFor(WAIT);

    await w.page.getByLabel('Queue id').fill(doc._id);
    await w.page.getByRole('button', { name: 'Look up' }).click();
    await w.page.getByRole('heading', { name: `Message ${doc._id}` }).waitFor(WAIT);
    for (const address of ['a@example.net', 'b@example.net']) {
      const row = w.page.getByRole('row', { name: new RegExp(address) });
      expect(await row.locator('[data-value]').getAttribute('data-value')).toBe('queued');
    }
  });

  it('made no request to another origin and broke no CSP rule', () => {
    expectOwnOriginOnly(w);
  });
});
