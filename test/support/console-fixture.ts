import type { Page } from 'playwright-core';
import type { RunningApi, RunningWorkerRole } from '../../src/container';
import { startBrowser, type TestBrowser } from './browser';
import { DnsFixture } from './dns-fixture';
import { createAccount, type TestAccount } from './factories';
import { createTestContainer, type TestContainer, type TestContainerOptions } from './services';

export const CONSOLE_INCLUDE = '_spf.mw.test';
/** How long a browser test waits for something the page shows. */
export const WAIT = { timeout: 20_000 };

/**
 * One describe's world for the console's browser tests: the test DNS (ns1, ns2, a resolver),
 * a container running the API and a worker, an account, and one Chromium page that records
 * every request it makes, every page error and every status the domain polls answered.
 */
export interface ConsoleWorld {
  dns: DnsFixture;
  c: TestContainer;
  api: RunningApi;
  workers: RunningWorkerRole;
  acct: TestAccount;
  browser: TestBrowser;
  page: Page;
  /** http://127.0.0.1:<port> of the API role. */
  base: string;
  requests: string[];
  problems: string[];
  domainPolls: number[];
}

/** Registers the beforeAll/afterAll that build and tear down a ConsoleWorld; its fields are set in beforeAll. */
export function consoleWorld(setup: { zones?: string[]; env?: Record<string, string>; options?: TestContainerOptions } = {}): ConsoleWorld {
  const w = { requests: [], problems: [], domainPolls: [] } as unknown as ConsoleWorld;
  beforeAll(async () => {
    w.dns = await DnsFixture.start(setup.zones ?? ['example.test', 'mw.test']);
    w.dns.publish(CONSOLE_INCLUDE, 'TXT', ['v=spf1 ip4:192.0.2.0/24 -all']);
    w.c = await createTestContainer(
      {
        ...w.dns.env(),
        HOST: '127.0.0.1',
        PORT: '0',
        SPF_INCLUDE_DOMAIN: CONSOLE_INCLUDE,
        PROPAGATION_SCHEDULE: '200ms',
        SWEEP_INTERVAL_MS: '150',
        // Once verified a domain stays still, so the page's polls answer 304.
        RECHECK_INTERVAL_MS: '3600000',
        APPROVAL_MODE: 'auto',
        ...setup.env,
      },
      { jitter: (ms) => ms, ...setup.options },
    );
    w.api = await w.c.start('api');
    w.workers = await w.c.start('worker', { workers: { dnsConcurrency: 2 } });
    w.acct = await createAccount(w.c.http);
    w.base = `http://127.0.0.1:${w.api.port}`;
    w.browser = await startBrowser();
    w.browser.context.on('request', (r) => w.requests.push(r.url()));
    w.page = await w.browser.context.newPage();
    w.page.on('pageerror', (e) => w.problems.push(`pageerror: ${e.message}`));
    w.page.on('console', (m) => {
      // The browser logs every 4xx the API answers; the tests provoke some on purpose.
      if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) w.problems.push(`console: ${m.text()}`);
    });
    w.page.on('response', (r) => {
      if (/\/v1\/domains\/dom_[^/?]+$/.test(r.url()) && r.request().method() === 'GET') w.domainPolls.push(r.status());
    });
  });
  afterAll(async () => {
    await w.browser?.close();
    await w.workers?.close();
    await w.api?.close();
    await w.c?.dispose();
    await w.dns?.close();
  });
  return w;
}

/** Signs in on the console's page with the world's account key. */
export async function signIn(w: ConsoleWorld): Promise<void> {
  await w.page.goto(`${w.base}/console`);
  await w.page.getByLabel('API key').fill(w.acct.apiKey);
  await w.page.getByRole('button', { name: 'Sign in' }).click();
  await w.page.getByRole('heading', { level: 1, name: 'Domains' }).waitFor(WAIT);
}

/** One cell of a propagation table (`domain-propagation` or `return-path-propagation`): a record on a nameserver. */
export function propagationCell(page: Page, table: string, purpose: string, ns: string) {
  return page.locator(`table#${table} tr[data-purpose="${purpose}"] td[data-nameserver="${ns}"]`);
}

/** Every request went to the console's own origin, and the page logged no error of its own. */
export function expectOwnOriginOnly(w: ConsoleWorld): void {
  expect(w.requests.length).toBeGreaterThan(5);
  expect(w.requests.filter((u) => !u.startsWith(`${w.base}/`))).toEqual([]);
  expect(w.problems).toEqual([]);
}
