/**
 * The model page's evaluations in Debian's Chromium against the real local
 * server: a version is evaluated through the API (evaluateVersion, polled to
 * SUCCEEDED) on a small Parquet dataset made here, then every figure the
 * console shows — rows scored, accuracy, the comparison version and its
 * accuracy, agreement, the P&L of following each version, and per class
 * precision, recall, F1 and support — is the write-once evaluation document's,
 * as the console formats it. A failed evaluation shows how far it got and why;
 * a version without an evaluation says how to start one. axe-core on the view;
 * screenshots in test-artifacts/console/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, percent, signed } from '../../src/console/format';
import { readEvaluationDocument } from '../../src/evaluation/chunkScoring';
import { pushDataset } from '../../src/evaluation/datasets';
import type { EvaluationDocument } from '../../src/evaluation/evaluationRecords';
import { publish } from '../governance/support';
import { knownRows, parquetOf } from '../evaluation/support';
import { startTestStack, type TestStack } from '../support/stack';
import { CHROMIUM, CHROMIUM_ARGS, isLocal, seriousViolations } from './support';

const ROOT = join(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts/console');
const MODEL = 'universal/eval_console';
const DATASET = 'console-probe';
const BROKEN = 'console-broken';
const BROWSER_TIMEOUT = 90_000;

describe.skipIf(process.env.SKIP_BROWSER_TESTS === '1')('the console shows a version’s evaluations', () => {
  let stack: TestStack;
  let base: string;
  let browser: Browser;
  let page: Page;
  let doc: EvaluationDocument;
  let failed: { status: string; progress: number; chunks: number; chunksDone: number; error: string };
  const blocked: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it or set SKIP_BROWSER_TESTS=1`);
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-console.mjs')], { cwd: ROOT, stdio: 'inherit' });
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startTestStack({ seed: false });
    base = stack.server.url.replace(/\/$/, '').replace('localhost', '127.0.0.1');

    // Two versions, v1 in production; 900 known rows in row groups of 400 (three chunks).
    const admin = stack.server.writeToken;
    await publish(stack, admin, MODEL, 'v1', { seed: 41 });
    await publish(stack, admin, MODEL, 'v2', { seed: 42 });
    const promoted = await stack.gql(
      `mutation { promote(model: "${MODEL}", version: "v1", reason: "baseline") { toVersion } }`,
      {},
      { token: admin },
    );
    expect(promoted.errors).toBeUndefined();
    const manifest = await pushDataset(stack.server.runtime.store, {
      name: DATASET,
      bytes: parquetOf(knownRows(900, 5), 400),
      by: 'test',
    });

    // Evaluate v2 against production as the CLI does: start it, then poll until it is no longer RUNNING.
    const evaluate = async (dataset: string) => {
      const started = await stack.gql(
        `mutation($m: ID!, $v: String!, $d: String!) { evaluateVersion(model: $m, version: $v, dataset: $d) { id status } }`,
        { m: MODEL, v: 'v2', d: dataset },
        { token: admin },
      );
      expect(started.errors).toBeUndefined();
      for (let i = 0; i < 600; i++) {
        const read = await stack.gql(
          `query($id: ID!) { evaluation(id: $id) { status progress chunks chunksDone error } }`,
          { id: started.data!.evaluateVersion.id },
        );
        if (read.data!.evaluation.status !== 'RUNNING') return read.data!.evaluation;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the evaluation on ${dataset} did not finish`);
    };
    expect((await evaluate(DATASET)).status).toBe('SUCCEEDED');
    doc = (await readEvaluationDocument(stack.server.runtime.store, MODEL, 'v2', manifest.sha256))!;
    expect(doc.metrics.rows).toBe(900);
    // A dataset whose row 450 (in the second chunk) has no finite vix: that chunk fails, and so the run.
    const brokenRows = knownRows(900, 6);
    brokenRows.features.vix[450] = Number.NaN;
    await pushDataset(stack.server.runtime.store, { name: BROKEN, bytes: parquetOf(brokenRows, 400), by: 'test' });
    failed = await evaluate(BROKEN);
    expect(failed.status).toBe('FAILED');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC' });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const section = () => page.getByRole('region', { name: 'Evaluations on history' });

  it(
    'shows the evaluation document’s figures: the summary row and the per-class table',
    async () => {
      // Act
      await page.goto(`${base}/console/models/${MODEL}`);
      await section().getByLabel('Version').selectOption('v2');
      const row = section().locator(`tr[data-dataset="${DATASET}"]`);
      await row.waitFor();

      // Assess: each cell is the document's figure as the console formats it.
      const cell = (field: string) => row.locator(`[data-field="${field}"]`).innerText();
      const m = doc.metrics;
      expect(await row.locator('th').innerText()).toContain(doc.dataset.name);
      expect(await row.locator('.badge').innerText()).toBe('succeeded');
      expect(await cell('rowsScored')).toBe(`${count(m.rows)} of ${count(doc.dataset.rows)}`);
      expect(await cell('accuracy')).toBe(percent(m.accuracy));
      expect(await cell('comparisonVersion')).toBe(doc.comparison!.version);
      expect(doc.comparison!.version).toBe('v1');
      expect(await cell('comparisonAccuracy')).toBe(percent(m.comparisonAccuracy));
      expect((await cell('agreement')).split('\n')).toEqual([
        percent(m.agreement!.rate),
        `${count(m.agreement!.agreements)} of ${count(m.agreement!.rows)}`,
      ]);
      expect(await cell('pnlFollowing')).toBe(signed(m.pnl!.following));
      expect(await cell('pnlComparisonFollowing')).toBe(signed(m.pnl!.comparisonFollowing));
      expect(await row.innerText()).toContain('by admin');

      const classes = section().locator(`table.classes[data-evaluation="${doc.id}"]`);
      expect(await classes.locator('caption').innerText()).toBe(`Per class: v2 on ${DATASET}`);
      const shown = await classes.locator('tbody tr').allInnerTexts();
      expect(shown.map((r) => r.split('\t'))).toEqual(
        m.classes.map((c) => [c.label, percent(c.precision), percent(c.recall), percent(c.f1), count(c.support)]),
      );
      // The dataset has a label no version predicts: its precision is — (none predicted), support counted.
      expect(m.classes.map((c) => c.label)).toContain('LONG_STRADDLE');

      expect(await seriousViolations(page), 'axe on the evaluations').toEqual([]);
      await section().screenshot({ path: join(ARTIFACTS, 'model-evaluations.png') });
      await page.screenshot({ path: join(ARTIFACTS, 'model-evaluations-page.png'), fullPage: true });
    },
    BROWSER_TIMEOUT,
  );

  it(
    'a failed evaluation shows how far it got and why it failed',
    async () => {
      // Act
      await page.goto(`${base}/console/models/${MODEL}`);
      await section().getByLabel('Version').selectOption('v2');
      const row = section().locator(`tr[data-dataset="${BROKEN}"]`);
      await row.waitFor();

      // Assess: the API's figures for the run (no result document: no figures, no per-class table).
      expect(await row.locator('.badge').innerText()).toBe('failed');
      const meter = row.getByRole('meter', { name: `Progress of v2 on ${BROKEN}` });
      expect(Number(await meter.getAttribute('value'))).toBe(failed.progress);
      expect(await row.locator('td').first().innerText()).toContain(
        `${percent(failed.progress, 0)} (${failed.chunksDone} of ${failed.chunks} chunks)`,
      );
      expect(failed.error).toMatch(/feature vix is not a finite number/);
      expect(await row.locator('.why').innerText()).toBe(failed.error);
      expect(await row.locator('[data-field="accuracy"]').innerText()).toBe('—');
      expect(await section().locator('table.classes').count()).toBe(1);
      expect(await seriousViolations(page), 'axe on a failed evaluation').toEqual([]);
      await section().screenshot({ path: join(ARTIFACTS, 'model-evaluations-failed.png') });
    },
    BROWSER_TIMEOUT,
  );

  it(
    'a version without an evaluation says how to start one',
    async () => {
      // Act
      await page.goto(`${base}/console/models/${MODEL}`);
      await section().getByLabel('Version').selectOption('v1');
      const empty = section().getByTestId('evaluations-empty');
      await empty.waitFor();

      // Assess
      expect(await empty.innerText()).toContain(`npm run modelgraph -- evaluate ${MODEL} v1 --dataset NAME`);
      expect(await section().locator('table.evaluations').count()).toBe(0);
      expect(await seriousViolations(page), 'axe on the evaluations').toEqual([]);
      await section().screenshot({ path: join(ARTIFACTS, 'model-evaluations-empty.png') });
    },
    BROWSER_TIMEOUT,
  );

  it('loaded nothing from outside the machine and threw no error', () => {
    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
