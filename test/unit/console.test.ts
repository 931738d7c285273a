/**
 * The console's pure parts: its copy of the canary rule against the server's,
 * the bundle server (index.html for every page, hashed files cached for a
 * year, nothing else), the Lambda adapter, the state guard, routes, tag
 * filters and version pairing.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canaryBucket as consoleBucket, inCanary as consoleInCanary } from '../../src/console/canary';
import { pairUp } from '../../src/console/components/ModelCharts';
import { parseTags } from '../../src/console/components/VersionsTable';
import { whatMoved, type ModelState } from '../../src/console/guard';
import { parseRoute, paths } from '../../src/console/router';
import { ConsoleBundle, consoleLambdaResult } from '../../src/console/serve';
import { canaryBucket, inCanary } from '../../src/inference/canary';

describe('console canary rule', () => {
  it('puts every ticker in the same bucket as the server does', () => {
    const cases: Array<[string, string]> = [
      ['etfs/SPY', 'SPY'],
      ['stocks/universal', 'AAPL'],
      ['stocks/universal', 'BRK.B'],
      ['ensembles/multi_asset_ensemble', 'DIA'],
      ['universal/ünïcode', 'ÄÖÜ'],
    ];
    for (const [model, ticker] of cases) {
      expect(consoleBucket(model, ticker)).toBe(canaryBucket(model, ticker));
      for (const pct of [0, 0.01, 5, 33.33, 50, 99.99, 100]) {
        expect(consoleInCanary(model, ticker, pct)).toBe(inCanary(model, ticker, pct));
      }
    }
  });
});

describe('console bundle server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'console-dist-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, '_'));
  writeFileSync(join(dir, 'index.html'), '<script type="application/json">%CONSOLE_CONFIG%</script>');
  writeFileSync(join(dir, '_', 'app-ABCD1234.js'), 'console.log(1)');
  writeFileSync(join(dir, '_', 'notes.txt'), 'not a bundle file');
  const bundle = new ConsoleBundle(dir, {
    endpoint: '/graphql',
    writeEndpoint: '/admin/graphql',
    graphiql: null,
    tokenHint: '</script><script>alert(1)</script>',
  });

  it('answers index.html (no-cache, config injected safely) for every page path', () => {
    for (const path of ['/console', '/console/', '/console/models', '/console/models/etfs/SPY', '/console/predict']) {
      const r = bundle.respond(path)!;
      expect(r.status).toBe(200);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.body).toContain('"writeEndpoint":"/admin/graphql"');
      expect(r.body).not.toContain('</script><script>');
    }
  });

  it('serves hashed files for a year and nothing else', () => {
    const js = bundle.respond('/console/_/app-ABCD1234.js')!;
    expect(js.status).toBe(200);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-type']).toContain('text/javascript');
    for (const path of ['/console/_/notes.txt', '/console/_/../index.html', '/console/_/app-ABCD1234.js/x']) {
      expect(bundle.respond(path)!.status).toBe(404);
    }
    expect(bundle.respond('/graphql')).toBeNull();
    expect(bundle.respond('/consoles')).toBeNull();
  });

  it('says how to build it when the bundle is missing', () => {
    const missing = new ConsoleBundle(join(dir, 'nope'), bundle as never);
    expect(missing.respond('/console')!.status).toBe(503);
  });

  it('answers API Gateway events (HTTP API 2.0 and REST 1.0), GET and HEAD only', () => {
    const v2 = consoleLambdaResult(bundle, { rawPath: '/console/models', requestContext: { http: { method: 'GET' } } });
    expect(v2?.statusCode).toBe(200);
    const head = consoleLambdaResult(bundle, { rawPath: '/console', requestContext: { http: { method: 'HEAD' } } });
    expect(head).toMatchObject({ statusCode: 200, body: '' });
    expect(consoleLambdaResult(bundle, { path: '/console/_/app-ABCD1234.js', httpMethod: 'GET' })?.statusCode).toBe(
      200,
    );
    expect(
      consoleLambdaResult(bundle, { rawPath: '/console', requestContext: { http: { method: 'POST' } } }),
    ).toBeNull();
    expect(
      consoleLambdaResult(bundle, { rawPath: '/graphql', requestContext: { http: { method: 'GET' } } }),
    ).toBeNull();
  });
});

describe('console state guard', () => {
  const state = {
    id: 'etfs/SPY',
    production: { id: 'p', version: 'v1.1.0', approval: { id: 'a', status: 'PENDING' } },
    staging: null,
    traffic: { shadow: false, canaryPercent: 0 },
    aliases: [{ id: 'x', name: 'champion', generation: 1, version: { id: 'v', version: 'v1.0.0', approval: null } }],
    historyConnection: {
      edges: [{ node: { action: 'PROMOTE', stage: 'PRODUCTION', by: 'cli-user', at: new Date().toISOString() } }],
    },
  } as unknown as ModelState;

  it.each([
    [{ production: 'v1.1.0' }, null],
    [{ production: 'v1.0.0' }, 'production is now v1.1.0, not v1.0.0'],
    [{ staging: null }, null],
    [{ staging: 'v1.0.0' }, 'staging is now empty, not v1.0.0'],
    [{ traffic: { shadow: false, canaryPercent: 0 } }, null],
    [{ traffic: { shadow: true, canaryPercent: 0 } }, 'traffic is now shadow off, canary 0 %'],
    [{ alias: { name: 'champion', version: 'v1.0.0' } }, null],
    [{ alias: { name: 'champion', version: null } }, 'alias champion now points to v1.0.0, not nothing'],
    [{ alias: { name: 'paper', version: null } }, null],
  ])('%j → %s', (expectation, moved) => {
    const answer = whatMoved(expectation, state);
    if (moved === null) expect(answer).toBeNull();
    else {
      expect(answer).toContain(moved);
      expect(answer).toContain('by cli-user');
    }
  });
});

describe('console routes and inputs', () => {
  it('parses and builds page paths (model ids keep their slash)', () => {
    expect(parseRoute('/console')).toEqual({ page: 'assets' });
    expect(parseRoute('/console/models/')).toEqual({ page: 'models' });
    expect(parseRoute(paths.model('etfs/SPY'))).toEqual({ page: 'model', id: 'etfs/SPY' });
    expect(paths.model('etfs/SPY')).toBe('/console/models/etfs/SPY');
    expect(parseRoute('/console/predict', '?ticker=AAPL')).toEqual({ page: 'predict', ticker: 'AAPL' });
    expect(parseRoute('/console/nope').page).toBe('not-found');
  });

  it('reads tag filters and refuses malformed ones', () => {
    expect(parseTags('')).toEqual({});
    expect(parseTags('team=vol, dataset = 2026-q3')).toEqual({ team: 'vol', dataset: '2026-q3' });
    expect(parseTags('team')).toBeNull();
    expect(parseTags('=x')).toBeNull();
  });

  it('pairs every version with another', () => {
    expect(pairUp([])).toEqual([]);
    expect(pairUp(['a'])).toEqual([]);
    expect(pairUp(['a', 'b', 'c'])).toEqual([
      ['a', 'b'],
      ['c', 'a'],
    ]);
    expect(pairUp(['a', 'b', 'c', 'd'])).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});
