/**
 * The console (/console) as a person uses it, in Debian's Chromium driven by
 * playwright-core, against the real local server (embedded S3, demo models):
 * every page, a promotion with a token and the timeline after it, a
 * concurrent promotion turning the next action into a CONFLICT with a
 * refresh, a chart drawn from recorded outcomes, a prediction, and axe-core
 * on every page. Screenshots go to test-artifacts/console/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';
import { CHROMIUM, CHROMIUM_ARGS, isLocal, seriousViolations } from './support';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts/console');
const BROWSER_TIMEOUT = 90_000;

describe.skipIf(process.env.SKIP_BROWSER_TESTS === '1')('console in Chromium', () => {
  let stack: TestStack;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const blocked: string[] = [];
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const expectAccessible = async (name: string) => {
    expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: install it, point CHROMIUM_PATH at one, or set SKIP_BROWSER_TESTS=1`,
      );
    }
    // Incremental: a no-op when dist/console is newer than its inputs.
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-console.mjs')], { cwd: ROOT, stdio: 'inherit' });
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startTestStack();
    base = stack.server.url.replace(/\/$/, '').replace('localhost', '127.0.0.1');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC' });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { __csp: string[] }).__csp ??= [];
        (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const collectCsp = async () => {
    cspViolations.push(...((await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp)) ?? []));
  };

  it(
    'serves the bundle with long-lived caching and index.html for every /console path',
    async () => {
      const index = await fetch(`${base}/console/models/etfs/SPY`);
      expect(index.status).toBe(200);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      const html = await index.text();
      const js = html.match(/\/console\/_\/app-[A-Z0-9]{8}\.js/)?.[0];
      expect(js).toBeTruthy();
      const asset = await fetch(`${base}${js}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(asset.headers.get('content-type')).toContain('text/javascript');
      expect((await fetch(`${base}/console/_/nope-AAAAAAAA.js`)).status).toBe(404);
      expect((await fetch(`${base}/console/_/../../package.json`)).status).not.toBe(200);
    },
    BROWSER_TIMEOUT,
  );

  it(
    'a newcomer finds which model serves AAPL and what changed last, navigating every page',
    async () => {
      await page.goto(`${base}/console`);
      await page.getByRole('heading', { name: /Assets: which model serves each ticker/ }).waitFor();
      const aapl = page.locator('tr[data-ticker="AAPL"]');
      await expect.poll(() => aapl.innerText()).toContain('stocks/universal');
      // What changed last, who did it: the seed's promotions.
      await expect.poll(() => page.locator('#recent-h + table').innerText()).toContain('demo-seed');
      await page.getByRole('searchbox').fill('aapl');
      await expect.poll(() => page.locator('#assets-table tbody tr').count()).toBe(1);
      await page.getByRole('searchbox').fill('');
      await expectAccessible('assets');
      await shot('assets');

      await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Models' }).click();
      await page.getByRole('heading', { name: /^Models \(\d+\)/ }).waitFor();
      expect(page.url()).toBe(`${base}/console/models`);
      await expect.poll(() => page.locator('table').innerText()).toContain('experimental/momentum_v2');
      await expectAccessible('models');
      await shot('models');

      await page.getByRole('link', { name: 'ensembles/multi_asset_ensemble' }).click();
      await page.getByRole('heading', { name: /Ensemble members of v1\.0\.0/ }).waitFor();
      await expectAccessible('ensemble model');
      await shot('model-ensemble');

      await page.getByRole('link', { name: 'Models', exact: true }).first().click();
      await page.getByRole('link', { name: 'etfs/SPY' }).click();
      await page.getByRole('heading', { name: 'Deployment timeline' }).waitFor();
      await expect.poll(() => page.locator('ol.timeline').innerText()).toContain('demo-seed');
      await expect.poll(() => page.locator('table.versions tbody tr').count()).toBe(2);
      // Read-only without a token: the button says why.
      const promote = page.getByRole('button', { name: 'Promote v1.0.0 to production' });
      expect(await promote.getAttribute('aria-disabled')).toBe('true');
      // aria-disabled (not disabled): it stays focusable and activating it explains itself. Pressed from the
      // keyboard, not clicked at coordinates: Playwright counts aria-disabled as disabled, and a forced click
      // at a point computed while the charts above still lay out could land beside the button.
      await promote.focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.locator('tr[data-version="v1.0.0"] .why').first().innerText())
        .toContain('Enter a token with models:write');
      await expectAccessible('model');
      await shot('model-readonly');

      // A reload of a deep link opens the same page (the server answers index.html).
      await page.reload();
      await page.getByRole('heading', { name: 'Deployment timeline' }).waitFor();

      await page.getByRole('link', { name: 'Try a prediction' }).click();
      await page.getByRole('heading', { name: 'Try a prediction' }).waitFor();
      await collectCsp();
    },
    BROWSER_TIMEOUT,
  );

  it(
    'runs a prediction for AAPL and shows the probabilities as bars',
    async () => {
      await page.goto(`${base}/console/predict?ticker=AAPL`);
      await page.getByText('deterministic sample values').waitFor();
      await page.getByRole('button', { name: 'Predict for AAPL' }).click();
      const answer = page.locator('section.answer');
      await answer.waitFor();
      await expect.poll(() => answer.innerText()).toContain('stocks/universal');
      const bars = answer.locator('meter');
      expect(await bars.count()).toBeGreaterThan(1);
      const sum = await bars.evaluateAll((els) => els.reduce((s, el) => s + (el as HTMLMeterElement).value, 0));
      expect(sum).toBeCloseTo(1, 2);
      await expectAccessible('predict');
      await shot('predict');
      await collectCsp();
    },
    BROWSER_TIMEOUT,
  );

  it(
    'promotes with a token and shows the move at the top of the timeline',
    async () => {
      await page.goto(`${base}/console/models/etfs/SPY`);
      await page.getByLabel(/^Token/).fill(stack.server.writeToken);
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.getByText('Signed in as').waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('modelgraph.console.token'))).toBe(
        stack.server.writeToken,
      );
      const promote = page.getByRole('button', { name: 'Promote v1.0.0 to production' });
      await expect.poll(() => promote.getAttribute('aria-disabled')).toBe(null);
      await promote.click();
      const dialog = page.getByRole('dialog', { name: 'Promote v1.0.0 to production?' });
      await dialog.waitFor();
      // The confirmation says exactly what changes.
      await expect.poll(() => dialog.innerText()).toMatch(/production of etfs\/SPY: v1\.1\.0 → v1\.0\.0/);
      await dialog.getByLabel(/Reason/).fill('console test: back to v1.0.0');
      await expectAccessible('promote dialog');
      await shot('promote-dialog');
      await dialog.getByRole('button', { name: 'Promote to production' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const first = page.locator('ol.timeline li').first();
      await expect.poll(() => first.innerText()).toMatch(/Promoted production v1\.1\.0 → v1\.0\.0 by admin/);
      expect(await first.innerText()).toContain('console test: back to v1.0.0');
      // The API agrees.
      const r = await stack.gql(`{ model(id: "etfs/SPY") { production { version } } }`);
      expect(r.data!.model.production.version).toBe('v1.0.0');
      await collectCsp();
    },
    BROWSER_TIMEOUT,
  );

  it(
    'turns an action into a CONFLICT with a refresh when a concurrent promotion moved production',
    async () => {
      await page.goto(`${base}/console/models/etfs/SPY`);
      await page.getByText('Signed in as').waitFor();
      await page.getByRole('button', { name: 'Promote v1.1.0 to production' }).click();
      const dialog = page.getByRole('dialog', { name: 'Promote v1.1.0 to production?' });
      await expect.poll(() => dialog.innerText()).toMatch(/production of etfs\/SPY: v1\.0\.0 → v1\.1\.0/);
      // Meanwhile someone else (the CLI sends this same mutation) promotes v1.1.0 and then rolls forward again.
      const other = await stack.gqlAsWriter(
        `mutation { promote(model: "etfs/SPY", version: "v1.1.0", reason: "from the CLI") { toVersion } }`,
      );
      expect(other.errors).toBeUndefined();
      await dialog.getByRole('button', { name: 'Promote to production' }).click();
      const alert = dialog.getByRole('alert');
      await expect.poll(() => alert.innerText()).toContain('Conflict: the state moved since this page loaded');
      expect(await alert.innerText()).toContain('production is now v1.1.0, not v1.0.0');
      await shot('conflict');
      await alert.getByRole('button', { name: 'Refresh to see the current state' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const first = page.locator('ol.timeline li').first();
      await expect.poll(() => first.innerText()).toContain('from the CLI');
      // Nothing was sent twice: one deployment by the other party, none by the console.
      const h = await stack.gql(
        `{ model(id: "etfs/SPY") { historyConnection(first: 2) { edges { node { reason } } } } }`,
      );
      expect(h.data!.model.historyConnection.edges.map((e: { node: { reason: string } }) => e.node.reason)).toEqual([
        'from the CLI',
        'console test: back to v1.0.0',
      ]);
      await collectCsp();
    },
    BROWSER_TIMEOUT,
  );

  it(
    'draws realised accuracy per day per version from recorded outcomes',
    async () => {
      // Three UTC days of outcomes for both SPY versions.
      const labels = (await stack.gql(`{ model(id: "etfs/SPY") { production { labels } } }`)).data!.model.production
        .labels as string[];
      const outcomes = [];
      const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
      for (let day = 0; day < 3; day++) {
        const at = new Date(today - (3 - day) * 86_400_000 + 12 * 3_600_000).toISOString();
        for (const [version, right] of [
          ['v1.0.0', 5 + day],
          ['v1.1.0', 7 - day],
        ] as const) {
          for (let i = 0; i < 10; i++) {
            outcomes.push({
              ticker: 'SPY',
              version,
              predicted: labels[0],
              realized: i < right ? labels[0] : labels[1],
              at,
            });
          }
        }
      }
      const rec = await stack.gqlAsWriter(
        `mutation ($o: [OutcomeInput!]!) { recordOutcomes(batchId: "console-test-1", outcomes: $o) { recorded } }`,
        { o: outcomes },
      );
      expect(rec.errors).toBeUndefined();
      expect(rec.data!.recordOutcomes.recorded).toBe(60);

      await page.goto(`${base}/console/models/etfs/SPY`);
      const chart = page.locator('figure.chart');
      await chart.waitFor();
      await expect.poll(() => chart.getAttribute('data-points')).toBe('6');
      expect(await chart.getAttribute('data-series')).toBe('2');
      // The numbers behind the lines: v1.0.0 is right 5, 6, 7 times in 10 on the three days.
      await chart.locator('summary').click();
      const rows = await chart.locator('details tbody tr').allInnerTexts();
      expect(rows.map((r) => r.split('\t').slice(1).join(' '))).toEqual(['50 % 70 %', '60 % 60 %', '70 % 50 %']);
      // And the canvas has the lines drawn: pixels in both series' colours.
      const coloured = await chart.locator('canvas').evaluate((c) => {
        const canvas = c as HTMLCanvasElement;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        const count = (r: number, g: number, b: number) => {
          let n = 0;
          for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i]! - r) < 8 && Math.abs(data[i + 1]! - g) < 8 && Math.abs(data[i + 2]! - b) < 8) n++;
          return n;
        };
        return [count(0x1f, 0x5f, 0xbf), count(0xc2, 0x41, 0x0c)];
      });
      expect(coloured[0]).toBeGreaterThan(50);
      expect(coloured[1]).toBeGreaterThan(50);
      await chart.locator('summary').click();
      await expectAccessible('model with chart');
      await shot('model');
      await page.screenshot({ path: join(ARTIFACTS, 'model-viewport.png'), fullPage: false });
      // The README's screenshot: refreshed on request only, so a test run leaves the working tree alone.
      if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
        await page.screenshot({ path: join(ROOT, 'docs/console-model.png'), fullPage: false });
      }
      await collectCsp();
    },
    BROWSER_TIMEOUT,
  );

  it(
    'enables only what the token may do, and a disabled button says why',
    async () => {
      const token = stack.server.principals.add('writer', ['models:write']);
      await page.goto(`${base}/console/models/etfs/SPY`);
      await page.getByRole('button', { name: 'Forget token' }).click();
      await page.getByLabel(/^Token/).fill(token);
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.getByText('Signed in as').waitFor();
      expect(await page.locator('header .token').innerText()).toContain('writer');
      // models:write: promoting is allowed, approving is not.
      const promote = page.getByRole('button', { name: 'Promote v1.0.0 to production' });
      await expect.poll(() => promote.getAttribute('aria-disabled')).toBe(null);
      const approve = page.getByRole('button', { name: 'Approve v1.0.0' });
      expect(await approve.getAttribute('aria-disabled')).toBe('true');
      await approve.focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.locator('tr[data-version="v1.0.0"] .why').first().innerText())
        .toBe('writer lacks the models:approve scope.');
      expect(await page.getByRole('dialog').count()).toBe(0);
      await collectCsp();
    },
    BROWSER_TIMEOUT,
  );

  it('loaded nothing from outside the machine, broke no CSP rule and threw no error', () => {
    expect(blocked).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
