import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { Clock } from '../../src/clock';
import { consoleWorld, expectOwnOriginOnly, propagationCell, signIn, WAIT } from '../support/console-fixture';
import { eventually } from '../support/eventually';
import { registerDomain } from '../support/factories';

const DOMAIN = 'rotate.example.test';
const MX_HOST = 'mx.mw.test';
const RETIRE_AFTER_MS = 3_600_000;
const ARTIFACTS = join(__dirname, '..', 'artifacts');

/** Real time plus an offset the test moves forward: checks keep running, and an hour passes at once. */
class OffsetClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

describe('the console: DKIM rotation, the return path and hints, in headless Chromium against the running API', () => {
  const clock = new OffsetClock();
  const w = consoleWorld({
    zones: ['example.test', 'mw.test', 'hint.test'],
    env: { RETURN_PATH_MX_HOST: MX_HOST, DKIM_RETIRE_AFTER_MS: String(RETIRE_AFTER_MS), CONFIRM_DELAY_MS: '300' },
    options: { clock },
  });
  let domainId: string;
  let first: string;

  const getDomain = async (id = domainId) => (await request(w.c.http).get(`/v1/domains/${id}`).set(w.acct.auth).expect(200)).body;
  const selectorRow = (selector: string, state?: string) =>
    w.page.locator(`table.selectors tr[data-selector="${selector}"]${state ? `[data-state="${state}"]` : ''}`);
  const pendingSelector = async () => (await getDomain()).records.find((r: { state?: string }) => r.state === 'pending');
  const rotateInPage = async (algorithm: string) => {
    await w.page.getByLabel("New key's algorithm").selectOption(algorithm);
    await w.page.getByRole('button', { name: 'Rotate DKIM key' }).click();
    await w.page.locator('table.selectors tr[data-state="pending"]').waitFor(WAIT);
    return pendingSelector();
  };

  beforeAll(async () => {
    const d = await registerDomain(w.c.http, w.acct, DOMAIN, 'rsa-2048');
    domainId = d.id;
    for (const r of d.records) w.dns.publish(r.name, 'TXT', [r.strings]);
    const verified = await eventually(() => getDomain(), { until: (x) => x.status === 'verified', message: `${DOMAIN} to verify` });
    first = verified.records.find((r: { purpose: string }) => r.purpose === 'dkim').selector;
    await signIn(w);
    await w.page.goto(`${w.base}/console#/domains/${domainId}`);
    await selectorRow(first, 'active').waitFor(WAIT);
  });

  it('rotates with the chosen algorithm: a pending selector with its record to publish; cancelling removes it', async () => {
    const pending = await rotateInPage('ed25519');
    expect(pending.algorithm).toBe('ed25519');
    const row = selectorRow(pending.selector, 'pending');
    expect(await row.locator('td').nth(0).textContent()).toBe(`${pending.selector}._domainkey.rotate`);
    expect(await row.locator('td').nth(1).textContent()).toBe('ed25519');
    const card = w.page.locator(`article.record[data-selector="${pending.selector}"]`);
    await card.getByText(pending.host, { exact: true }).waitFor(WAIT);
    await card.getByText(pending.value, { exact: true }).waitFor(WAIT);
    expect(await card.getByRole('button', { name: /^Copy DKIM .* (host|value)$/ }).count()).toBe(2);

    w.page.once('dialog', (dialog) => void dialog.accept());
    await w.page.getByRole('button', { name: 'Cancel rotation' }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    expect(await pendingSelector()).toBeUndefined();
    expect(await w.page.locator('#dkim-rotation-error').count()).toBe(0);
  });

  it("shows the API's 409 when the rotation it would cancel is no longer pending", async () => {
    await rotateInPage('rsa-2048');
    // The confirmation holds the page (no poll runs); meanwhile someone else cancels the rotation.
    const cancelledMeanwhile = new Promise<number>((resolve) =>
      w.page.once('dialog', async (dialog) => {
        const res = await request(w.c.http).delete(`/v1/domains/${domainId}/dkim/rotation`).set(w.acct.auth);
        await dialog.accept();
        resolve(res.status);
      }),
    );
    await w.page.getByRole('button', { name: 'Cancel rotation' }).click();
    expect(await cancelledMeanwhile).toBe(200);
    const error = w.page.locator('#dkim-rotation-error');
    await error.waitFor(WAIT);
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await error.textContent()).toBe('409 Conflict: no rotation is pending');
    await w.page.locator('table.selectors tr[data-state="pending"]').waitFor({ state: 'detached', ...WAIT });
  });

  it('turns the published pending selector active and the old one retiring, with its retiresAt, without a reload', async () => {
    const pending = await rotateInPage('ed25519');
    await w.page.evaluate('window.__sameDocument = true');
    w.dns.publish(pending.name, 'TXT', [pending.strings]);

    await selectorRow(pending.selector, 'active').waitFor(WAIT);
    await selectorRow(first, 'retiring').waitFor(WAIT);
    const d = await getDomain();
    const old = d.records.find((r: { selector?: string }) => r.selector === first);
    expect(old.retiresAt).toBeDefined();
    expect(await selectorRow(first).locator('time').getAttribute('datetime')).toBe(old.retiresAt);
    expect(await w.page.locator(`article.record[data-selector="${first}"] time`).getAttribute('datetime')).toBe(old.retiresAt);
    expect(await w.page.evaluate('window.__sameDocument')).toBe(true);
  });

  it('says a retired selector is safe to remove, naming its host', async () => {
    clock.offsetMs += RETIRE_AFTER_MS + 1000;
    await selectorRow(first, 'retired').waitFor(WAIT);
    expect(await selectorRow(first).getByTestId('safe-to-remove').textContent()).toBe(`Safe to remove: delete the TXT record at host ${first}._domainkey.rotate`);
  });

  it('shows a non-subdomain refused beside the subdomain field', async () => {
    const field = w.page.getByLabel('Subdomain');
    await field.fill('bounce.other.test');
    await w.page.getByRole('button', { name: 'Save return path' }).click();
    const errors = w.page.locator('#rp-subdomain-errors');
    await errors.waitFor(WAIT);
    expect(await errors.textContent()).toMatch(/^subdomain: must be a subdomain of rotate\.example\.test/);
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('aria-describedby')).toBe('rp-subdomain-errors');
    expect((await getDomain()).returnPath).toBeNull();
  });

  it('lists the MX and SPF records at the return path, then shows it verified and VERP applied once both nameservers have them', async () => {
    await w.page.getByLabel('Subdomain').fill('bounce.rotate.example.test');
    await w.page.getByLabel('While not verified').selectOption('reject');
    await w.page.getByRole('button', { name: 'Save return path' }).click();
    const state = w.page.getByTestId('return-path-state');
    await state.locator('[data-value="reject"]').waitFor(WAIT);
    expect(await w.page.locator('#rp-subdomain-errors').count()).toBe(0);

    const mx = w.page.locator('article.record[data-purpose="mx"]');
    const spf = w.page.locator('article.record[data-purpose="spf"][data-type="TXT"]').nth(1);
    await mx.getByText('bounce.rotate', { exact: true }).waitFor(WAIT);
    for (const [label, text] of [
      ['host', 'bounce.rotate'],
      ['priority', '10'],
      ['mail server', MX_HOST],
      ['value', `10 ${MX_HOST}`],
    ]) {
      await mx.getByText(text, { exact: true }).waitFor(WAIT);
      await mx.getByRole('button', { name: `Copy MX ${label}` }).waitFor(WAIT);
    }
    expect(await mx.locator('dd code').nth(1).textContent()).toBe('MX');
    const rp = (await getDomain()).returnPath;
    await spf.getByText(rp.records[1].value, { exact: true }).waitFor(WAIT);
    await spf.getByRole('button', { name: 'Copy SPF value' }).waitFor(WAIT);

    w.dns.publish('bounce.rotate.example.test', 'MX', [{ preference: 10, exchange: MX_HOST }]);
    w.dns.publish('bounce.rotate.example.test', 'TXT', [rp.records[1].strings]);
    await state.locator('[data-value="verified"]').waitFor(WAIT);
    await state.locator('[data-value="verp"]').waitFor(WAIT);
    expect(await w.page.getByTestId('return-path-applies').textContent()).toContain('b-…@bounce.rotate.example.test');
    for (const purpose of ['mx', 'spf'])
      for (const ns of ['ns1.example.test', 'ns2.example.test'])
        await propagationCell(w.page, 'return-path-propagation', purpose, ns).and(w.page.locator('[data-status="pass"]')).waitFor(WAIT);
    expect((await getDomain()).returnPath).toMatchObject({ status: 'verified', applies: 'verp' });

    mkdirSync(ARTIFACTS, { recursive: true });
    await w.page.setViewportSize({ width: 375, height: 900 });
    expect(await w.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await w.page.setViewportSize({ width: 1440, height: 900 });
    // Bounding boxes are relative to the viewport: measured from the top, they are page coordinates.
    await w.page.evaluate('window.scrollTo(0, 0)');
    const top = (await w.page.locator('section[aria-labelledby="dkim-title"]').boundingBox())!;
    const bottom = (await w.page.locator('section[aria-labelledby="return-path-title"]').boundingBox())!;
    await w.page.screenshot({
      path: join(ARTIFACTS, 'console-rotation-return-path-1440.png'),
      fullPage: true,
      clip: { x: 0, y: top.y - 8, width: 1440, height: bottom.y + bottom.height - top.y + 16 },
    });
  });

  it("shows a misplaced record's hint prominently, with its host label", async () => {
    const d = await registerDomain(w.c.http, w.acct, 'hint.test', 'ed25519');
    const [spf, dkim] = ['spf', 'dkim'].map((p) => d.records.find((r: { purpose: string }) => r.purpose === p));
    w.dns.publish(spf.name, 'TXT', [spf.strings]);
    // The zone typed into the host field: the provider appended it a second time.
    w.dns.publish(`${dkim.name}.hint.test`, 'TXT', [dkim.strings]);
    await w.page.goto(`${w.base}/console#/domains/${d.id}`);

    const hint = w.page.locator('article.record[data-purpose="dkim"] .hint');
    await hint.waitFor(WAIT);
    const failed = await eventually(() => getDomain(d.id), { until: (x) => x.records[1].hint !== null, message: 'the hint' });
    expect(await hint.getAttribute('role')).toBe('note');
    expect(await hint.locator('.hint-host').textContent()).toBe(`Fix at host ${dkim.selector}._domainkey`);
    expect(await hint.locator('.hint-text').textContent()).toBe(failed.records[1].hint);
    expect(failed.records[1].hint).toContain(`"${dkim.selector}._domainkey.hint.test"`);
    // The hint comes first in its card, before the fields, and it is text: nothing in it but its paragraphs and the host.
    expect(await w.page.locator('article.record[data-purpose="dkim"] > :nth-child(2)').getAttribute('class')).toBe('hint');
    expect(await hint.locator('*:not(p):not(code)').count()).toBe(0);
    await w.page.locator('article.record[data-purpose="dkim"]').screenshot({ path: join(ARTIFACTS, 'console-hint-1440.png') });
  });

  it('made no request to another origin and logged no error', () => {
    expectOwnOriginOnly(w);
  });
});
