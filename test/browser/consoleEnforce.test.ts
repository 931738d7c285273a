/**
 * Trusted documents in force (TRUSTED_DOCUMENTS=enforce): the open /graphql
 * route refuses a document that is not one of client/operations, and the
 * console — built only from those documents — still works, in Debian's
 * Chromium against the real local server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe.skipIf(process.env.SKIP_BROWSER_TESTS === '1')('the console under TRUSTED_DOCUMENTS=enforce', () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const refused: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it or set SKIP_BROWSER_TESTS=1`);
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-console.mjs')], { cwd: ROOT, stdio: 'inherit' });
    stack = await startTestStack({ env: { TRUSTED_DOCUMENTS: 'enforce' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    page = await (await browser.newContext({ timezoneId: 'UTC' })).newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('response', async (res) => {
      if (!res.url().endsWith('/graphql')) return;
      const body = await res.text().catch(() => '');
      if (/TRUSTED_DOCUMENT_REQUIRED|PERSISTED_QUERY_NOT_FOUND/.test(body)) refused.push(body.slice(0, 200));
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('refuses an anonymous document that is not a trusted one', async () => {
    const res = await stack.gql(`{ assets { ticker } }`);
    expect(res.status).toBe(403);
    expect(res.errors?.[0].extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
  });

  it('serves the console: assets, a model page and a prediction, with no document refused', async () => {
    const base = stack.server.url.replace(/\/$/, '').replace('localhost', '127.0.0.1');
    await page.goto(`${base}/console`);
    await expect
      .poll(() => page.locator('tr[data-ticker="AAPL"]').innerText(), { timeout: 30_000 })
      .toContain('stocks/universal');
    await page.goto(`${base}/console/models/etfs/SPY`);
    await expect.poll(() => page.locator('ol.timeline').innerText(), { timeout: 30_000 }).toContain('demo-seed');
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Try a prediction' }).click();
    await page
      .getByRole('button', { name: /Predict/ })
      .first()
      .waitFor();
    await page
      .getByRole('button', { name: /Predict/ })
      .first()
      .click();
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toMatch(/probabilit/i);
    expect(refused).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
