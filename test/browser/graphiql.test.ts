/**
 * Real-browser test of the GraphiQL page (Debian's Chromium via playwright-core).
 *
 * The page must render, talk only to its own origin (no CDN), run a query
 * through the Monaco editor and show schema descriptions in the doc explorer,
 * all under the page's Content-Security-Policy.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { DEMO_ENSEMBLE_MEMBERS, DEMO_UNIVERSAL_MODEL } from '../../src/local/demoSeed';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphiqlHandler, jsonForScript, safeAssetPath } from '../../src/local/graphiql/serve.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BROWSER_TIMEOUT = 60_000;

// ---------------------------------------------------------------------------
// Server under test: the real local server (embedded S3 with the demo models,
// Apollo at /graphql, GraphiQL at /).
// ---------------------------------------------------------------------------
interface RunningServer {
  url: string;
  stack: TestStack;
  close(): Promise<void>;
}

async function startServer(): Promise<RunningServer> {
  const stack = await startTestStack();
  return {
    url: stack.server.url.replace(/\/$/, '').replace('localhost', '127.0.0.1'),
    stack,
    close: () => stack.close(),
  };
}

/** A real predict operation for SPY's demo model, written as GraphQL literal syntax. */
function spyOperation(): string {
  const features = Object.entries(featuresFor(DEMO_FEATURE_NAMES, 1))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return `{ predict(ticker: "SPY", features: { ${features} }) { strategy version } }`;
}
// ---------------------------------------------------------------------------

/** GET with the request target sent exactly as given. */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const { hostname, port } = new URL(base);
    const req = httpRequest({ host: hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end();
  });
}

function isLocal(url: string): boolean {
  if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return true;
  try {
    const { hostname } = new URL(url);
    return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
  } catch {
    return false;
  }
}

/**
 * Text of the Monaco editor inside `container`, as rendered (Monaco draws
 * spaces as U+00A0; lines are joined with '\n'). Only the visible lines are
 * rendered, which is enough for the short operations used here.
 */
async function editorText(page: Page, container: string): Promise<string> {
  const lines = await page.locator(`${container} .view-lines .view-line`).evaluateAll((els) =>
    els
      .map((el) => ({ top: parseFloat((el as HTMLElement).style.top) || 0, text: el.textContent ?? '' }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text),
  );
  return lines
    .join('\n')
    .replace(/\u00a0/g, ' ')
    .trim();
}

describe.skipIf(process.env.SKIP_BROWSER_TESTS === '1')('GraphiQL page in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const blocked: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium), point CHROMIUM_PATH at one, or set SKIP_BROWSER_TESTS=1`,
      );
    }
    // Incremental: a no-op when dist/graphiql is newer than its inputs.
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-graphiql.mjs')], { cwd: ROOT, stdio: 'inherit' });
    expect(existsSync(join(ROOT, 'dist/graphiql/app.js'))).toBe(true);

    server = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // Record every request (pages and workers alike) and refuse anything that
    // would leave the machine, so a CDN reference fails loudly here.
    context.on('request', (r: Request) => {
      requests.push(r.url());
    });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    // Collected from inside the page; the init script itself is exempt from the CSP.
    await context.addInitScript(() => {
      const w = window as unknown as { __cspViolations: string[] };
      w.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        w.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
      });
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it(
    'loads from localhost only, runs a query and shows schema descriptions',
    async () => {
      // 1. Load the page; ?query= prefills the operation editor.
      const response = await page.goto(`${server.url}/?query=${encodeURIComponent('{ __typename }')}`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-type']).toContain('text/html');
      await expect(page.title()).resolves.toBe('Modelgraph');

      const queryEditor = page.locator('.graphiql-query-editor .monaco-editor').first();
      await queryEditor.waitFor({ state: 'visible', timeout: 30_000 });
      await expect.poll(() => editorText(page, '.graphiql-query-editor'), { timeout: 15_000 }).toBe('{ __typename }');

      // 2. Type the operation into Monaco: focus, select all, delete, insert.
      //    (Deleting first matters: typing '{' over a selection makes Monaco
      //    surround it; insertText() then adds the rest as one edit, so no
      //    bracket auto-closing or suggestion acceptance gets in the way.)
      const operation = spyOperation();
      await queryEditor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.insertText(operation);
      await expect.poll(() => editorText(page, '.graphiql-query-editor')).toBe(operation);
      // The page keeps the operation in the URL for sharing.
      await expect.poll(() => new URL(page.url()).searchParams.get('query')).toBe(operation);

      // 3. Header editor: what users paste for mutations is sent with the request.
      await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
      const headerEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor').first();
      await headerEditor.waitFor({ state: 'visible' });
      await headerEditor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.insertText('{"Authorization": "Bearer test-token"}');

      // 4. Run it and wait for the result pane.
      const sent = page.waitForRequest(
        (r) => r.method() === 'POST' && r.url().endsWith('/graphql') && (r.postData() ?? '').includes('predict'),
      );
      await page.locator('.graphiql-execute-button').click();
      expect((await sent).headers()['authorization']).toBe('Bearer test-token');
      // The same answer the API gives a plain HTTP client.
      const expected = await server.stack.gql(operation);
      const strategy: string = expected.data!.predict.strategy;
      expect(OPTION_STRATEGIES).toContain(strategy);
      await expect.poll(() => editorText(page, '.graphiql-response'), { timeout: 15_000 }).toContain(strategy);
      expect(JSON.parse(await editorText(page, '.graphiql-response'))).toEqual({ data: expected.data });

      // 5. Doc explorer: schema, field and type descriptions are visible.
      await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
      const docs = page.locator('.graphiql-doc-explorer');
      await docs.waitFor({ state: 'visible' });
      await expect.poll(() => docs.innerText()).toContain('Modelgraph serves the option-strategy models');
      await docs
        .locator('a.graphiql-doc-explorer-type-name', { hasText: /^Query$/ })
        .first()
        .click();
      await expect.poll(() => docs.innerText()).toContain('Predicts the option strategy for one ticker');
      await docs
        .locator('a.graphiql-doc-explorer-type-name', { hasText: /^Prediction$/ })
        .first()
        .click();
      await expect.poll(() => docs.innerText()).toContain("A model's answer for one ticker");
      await expect.poll(() => docs.innerText()).toContain('The most probable label: the recommended option strategy');

      await page.screenshot({ path: '/tmp/graphiql.png', fullPage: false });

      // 6. The GraphQL language worker validates against the schema: an
      //    unknown field gets an error marker.
      await queryEditor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.insertText('{ predict(ticker: "SPY", features: {}) { noSuchField } }');
      await page
        .locator('.graphiql-query-editor .squiggly-error')
        .first()
        .waitFor({ state: 'attached', timeout: 15_000 });

      // 7. Nothing left the machine, everything came from our server, the
      //    Monaco workers were same-origin files, and the CSP held.
      expect(blocked).toEqual([]);
      expect(requests.filter((u) => !isLocal(u))).toEqual([]);
      expect(requests.some((u) => u.endsWith('/graphiql/app.js'))).toBe(true);
      expect(requests.some((u) => u.endsWith('/graphiql/graphql.worker.js'))).toBe(true);
      expect(requests.some((u) => u.endsWith('/graphql'))).toBe(true);
      const violations = await page.evaluate(
        () => (window as unknown as { __cspViolations: string[] }).__cspViolations,
      );
      expect(violations).toEqual([]);
      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
    },
    BROWSER_TIMEOUT,
  );

  it(
    'shows an ensemble prediction with its members, and documents the ensemble, regressor and traffic types',
    async () => {
      // 1. A DIA prediction (DIA is served by the demo ensemble), typed into the operation editor and run.
      //    (A wide window: the result pane wraps long lines, and editorText reads what is drawn.)
      await page.setViewportSize({ width: 2200, height: 1100 });
      await page.goto(`${server.url}/`);
      const queryEditor = page.locator('.graphiql-query-editor .monaco-editor').first();
      await queryEditor.waitFor({ state: 'visible', timeout: 30_000 });
      const features = Object.entries(featuresFor(DEMO_FEATURE_NAMES, 3))
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      const operation = `{ predict(ticker: "DIA", features: { ${features} }) { strategy version ensemble { voting members { model { id } version weight } } } }`;
      await queryEditor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.insertText(operation);
      await expect.poll(() => editorText(page, '.graphiql-query-editor')).toBe(operation);
      const expected = await server.stack.gql(operation);
      expect(expected.errors).toBeUndefined();
      const members = expected.data!.predict.ensemble.members as Array<{
        model: { id: string };
        version: string;
        weight: number;
      }>;
      expect(members.map((m) => ({ model: m.model.id, version: m.version, weight: m.weight }))).toEqual(
        DEMO_ENSEMBLE_MEMBERS,
      );
      await page.locator('.graphiql-execute-button').click();
      // The result pane shows the vote's members, pinned to their versions: the API's own answer.
      await expect
        .poll(() => editorText(page, '.graphiql-response'), { timeout: 15_000 })
        .toContain(DEMO_UNIVERSAL_MODEL);
      const shown = await editorText(page, '.graphiql-response');
      for (const m of DEMO_ENSEMBLE_MEMBERS) expect(shown).toContain(`"id": "${m.model}"`);
      expect(JSON.parse(shown)).toEqual({ data: expected.data });

      // 2. The doc explorer documents the new types: Prediction → EnsembleVote, NamedValue; Model → Traffic.
      const docs = page.locator('.graphiql-doc-explorer');
      if (!(await docs.isVisible()))
        await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
      await docs.waitFor({ state: 'visible' });
      const back = docs.locator('.graphiql-doc-explorer-back');
      while (await back.isVisible()) await back.click(); // to the root, wherever the last visit left it
      const open = async (type: string, ...texts: string[]) => {
        await docs
          .locator('a.graphiql-doc-explorer-type-name', { hasText: new RegExp(`^${type}$`) })
          .first()
          .click();
        await expect.poll(() => docs.locator('.graphiql-doc-explorer-title').innerText()).toBe(type);
        for (const text of texts) await expect.poll(() => docs.innerText()).toContain(text);
      };
      await open('Query');
      await open(
        'Prediction',
        'When an ensemble answered: how it voted and each member',
        "A regressor's values, in its targets order",
      ); // (code spans render without backticks)
      await open(
        'EnsembleVote',
        'How an ensemble reached its answer.',
        "Each member's answer, in the ensemble's member order.",
        'MemberVote',
      );
      await back.click();
      await open('NamedValue', 'One named number a regressor answers', "The output's name, from the version's");
      await back.click();
      await open('Model');
      await open(
        'Traffic',
        'Shadow and canary traffic of a model',
        'Canary: this percentage (0–100) of tickers is served by the staging version',
      );

      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
      expect(blocked).toEqual([]);
    },
    BROWSER_TIMEOUT,
  );

  it('serves assets safely and with the right caching', async () => {
    const get = (path: string) => fetch(`${server.url}${path}`, { redirect: 'manual' });

    const appJs = await get('/graphiql/app.js');
    expect(appJs.status).toBe(200);
    expect(appJs.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(appJs.headers.get('cache-control')).toBe('no-cache');
    const etag = appJs.headers.get('etag');
    expect(etag).toBeTruthy();
    const revalidated = await fetch(`${server.url}/graphiql/app.js`, { headers: { 'if-none-match': etag! } });
    expect(revalidated.status).toBe(304);

    const css = await get('/graphiql/app.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');

    const meta = JSON.parse(readFileSync(join(ROOT, 'dist/graphiql/build-meta.json'), 'utf8')) as {
      outputs: Record<string, number>;
    };
    const chunk = Object.keys(meta.outputs).find((f) => f.startsWith('chunks/') && f.endsWith('.js'));
    expect(chunk).toBeTruthy();
    const chunkRes = await get(`/graphiql/${chunk}`);
    expect(chunkRes.status).toBe(200);
    expect(chunkRes.headers.get('cache-control')).toContain('immutable');

    for (const bad of [
      '/graphiql/../package.json',
      '/graphiql/%2e%2e/package.json',
      '/graphiql/%2e%2e%2fpackage.json',
      '/graphiql/chunks/..%2f..%2fpackage.json',
      '/graphiql//etc/passwd',
      '/graphiql/%2fetc%2fpasswd',
      '/graphiql/..%5c..%5cpackage.json',
      '/graphiql/%00',
      '/graphiql/%E0%A4%A',
    ]) {
      // Sent verbatim (fetch() would normalise '..' away before it reaches the server).
      const res = await rawGet(server.url, bad);
      expect(res.status, bad).toBe(400);
      expect(res.body, bad).not.toContain('"name": "modelgraph"');
    }
    expect((await get('/graphiql/does-not-exist.js')).status).toBe(404);
    expect((await get('/graphiql/index.html')).status).toBe(302);

    // The config is injected as inert JSON; a hostile value cannot close the <script>.
    const html = await (await get('/')).text();
    expect(html).toContain('<script id="modelgraph-config" type="application/json">{"endpoint":"/graphql"');
    expect(html).not.toContain('%MODELGRAPH_');
  });
});

describe('GraphiQL handler without a browser', () => {
  async function withHandler(
    handler: ReturnType<typeof createGraphiqlHandler>,
    fn: (base: string) => Promise<void>,
  ): Promise<void> {
    const server = createServer((req, res) => {
      if (!handler(req, res)) res.writeHead(418, { 'content-type': 'text/plain' }).end('not mine');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  }

  it('explains how to build when dist/graphiql is missing, and leaves other routes alone', async () => {
    const handler = createGraphiqlHandler({
      distDir: join(ROOT, 'dist/does-not-exist'),
      endpoint: '/graphql',
      defaultQuery: '',
    });
    await withHandler(handler, async (base) => {
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toContain('node scripts/build-graphiql.mjs');
      const asset = await fetch(`${base}/graphiql/app.js`);
      expect(asset.status).toBe(404);
      expect(await asset.text()).toContain('node scripts/build-graphiql.mjs');
      expect((await fetch(`${base}/graphql`, { method: 'POST', body: '{}' })).status).toBe(418);
      expect((await fetch(`${base}/graphql`)).status).toBe(418);
      expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(418);
    });
  });

  it('injects the config as inert, script-safe JSON', async () => {
    const hostile = '</script><script>alert(1)</script><!-- \u2028 $& $1 & "quotes"';
    const handler = createGraphiqlHandler({ endpoint: '/graphql', defaultQuery: hostile, title: '<b>Modelgraph</b>' });
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-graphiql.mjs')], { cwd: ROOT, stdio: 'ignore' });
    await withHandler(handler, async (base) => {
      const html = await (await fetch(`${base}/`)).text();
      expect(html).not.toContain('<script>alert(1)');
      expect(html).toContain('<title>&#60;b&#62;Modelgraph&#60;/b&#62;</title>');
      const block = /<script id="modelgraph-config" type="application\/json">([^<]*)<\/script>/.exec(html);
      expect(block).not.toBeNull();
      expect(JSON.parse(block![1]!)).toEqual({
        endpoint: '/graphql',
        defaultQuery: hostile,
        title: '<b>Modelgraph</b>',
      });
    });
    expect(jsonForScript('\u2028</script>')).toBe('"\\u2028\\u003c/script\\u003e"');
  });

  it('accepts only plain relative asset paths', () => {
    expect(safeAssetPath('app.js')).toBe('app.js');
    expect(safeAssetPath('chunks/chunk-ABC.js')).toBe('chunks/chunk-ABC.js');
    for (const bad of [
      '',
      '../x',
      'a/../../x',
      '%2e%2e/x',
      '/etc/passwd',
      '%2Fetc',
      'C:/x',
      'a\\b',
      'a%5cb',
      '.hidden',
      'a//b',
      'x%00',
      '%E0%A4%A',
    ]) {
      expect(safeAssetPath(bad), bad).toBeNull();
    }
  });
});
