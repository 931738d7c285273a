import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { inCanary } from '../../src/inference/canary';
import type { Prediction } from '../../src/inference/predictor';
import { DEMO_STOCKS, demoVersionFiles } from '../../src/local/demoSeed';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { publishVersion } from '../../src/registry/versionPublisher';
import { createRuntime, type Runtime } from '../../src/runtime';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';

const CONFIGURE = `mutation($model: ID!, $shadow: Boolean, $canaryPercent: Float, $reason: String) {
  configureTraffic(model: $model, shadow: $shadow, canaryPercent: $canaryPercent, reason: $reason) {
    action fromVersion toVersion reason by generation traffic { shadow canaryPercent }
  }
}`;
const PREDICT_MANY = `query($requests: [PredictionRequest!]!, $stage: Stage) {
  predictMany(requests: $requests, stage: $stage) {
    ticker strategy confidence version stage canary probabilities { probability }
    shadow { version strategy confidence agrees }
  }
}`;
const TRAFFIC = `query($id: ID!) { model(id: $id) { traffic { shadow canaryPercent } shadowAgreement { productionVersion stagingVersion rows agreements rate } } }`;

describe('shadow mode and canary traffic', () => {
  let stack: TestStack;
  let other: Runtime;
  const rows = (ticker: string, n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({ ticker, features: featuresFor(DEMO_FEATURE_NAMES, from + i) }));

  beforeAll(async () => {
    stack = await startTestStack({ env: { SHADOW_FLUSH_SECONDS: '3600' } });
    const { store, deployments } = stack.server.runtime;
    // Candidates in staging: SPY v1.2.0 and stocks/universal v1.2.0 (other seeds: other answers).
    await publishVersion(store, 'etfs/SPY', 'v1.2.0', demoVersionFiles(777), { strategies: [...OPTION_STRATEGIES] });
    await deployments.promote({ model: 'etfs/SPY', version: 'v1.2.0', stage: 'STAGING', by: 'test' });
    await publishVersion(store, 'stocks/universal', 'v1.2.0', demoVersionFiles(778), {
      strategies: [...OPTION_STRATEGIES],
    });
    await deployments.promote({ model: 'stocks/universal', version: 'v1.2.0', stage: 'STAGING', by: 'test' });
    // QQQ's candidate reads other features than production: it cannot shadow.
    const narrow = ['iv_rank', 'rsi_14'];
    await publishVersion(
      store,
      'etfs/QQQ',
      'v2',
      {
        'model.onnx': Buffer.from(
          buildTreeEnsembleClassifier({ featureNames: narrow, labels: OPTION_STRATEGIES, trees: 2, depth: 2, seed: 5 }),
        ),
        'feature_names.json': Buffer.from(JSON.stringify(narrow)),
      },
      { strategies: [...OPTION_STRATEGIES] },
    );
    await deployments.promote({ model: 'etfs/QQQ', version: 'v2', stage: 'STAGING', by: 'test' });
    const config = loadConfig({
      MODEL_BUCKET: stack.server.runtime.bucket,
      S3_ENDPOINT: stack.server.s3!.endpoint,
      POINTER_TTL_SECONDS: '0',
    });
    other = createRuntime(config, { credentials: EMBEDDED_S3_CREDENTIALS });
  });
  afterAll(async () => {
    other?.models.clear();
    await stack?.close();
  });

  it('configureTraffic needs write permission and valid settings, and changes nothing otherwise', async () => {
    const before = await stack.server.runtime.store.get('etfs/SPY/production/metadata.json');
    const cases: Array<[Record<string, unknown>, string | null, string]> = [
      [{ model: 'etfs/SPY', shadow: true }, null, 'UNAUTHENTICATED'],
      [{ model: 'etfs/SPY', canaryPercent: 150 }, 'w', 'BAD_USER_INPUT'],
      [{ model: 'etfs/SPY', canaryPercent: -1 }, 'w', 'BAD_USER_INPUT'],
      [{ model: 'etfs/SPY' }, 'w', 'BAD_USER_INPUT'],
      [{ model: 'etfs/../SPY', shadow: true }, 'w', 'BAD_USER_INPUT'],
      [{ model: 'etfs/NOPE', shadow: true }, 'w', 'MODEL_NOT_FOUND'],
      [{ model: 'experimental/momentum_v2', shadow: true }, 'w', 'MODEL_NOT_DEPLOYED'],
    ];
    for (const [vars, writer, code] of cases) {
      const r = writer ? await stack.gqlAsWriter(CONFIGURE, vars) : await stack.gql(CONFIGURE, vars);
      expect(r.errors?.[0].extensions?.code, JSON.stringify(vars)).toBe(code);
    }
    const after = await stack.server.runtime.store.get('etfs/SPY/production/metadata.json');
    expect(after.etag).toBe(before.etag);
  });

  it('shadow mode: every production row also runs staging in the same batch; the answer carries it and whether they agree', async () => {
    const { runtime } = stack.server;
    const requests = rows('SPY', 25);
    const alone = (await stack.gql(PREDICT_MANY, { requests })).data!.predictMany;
    const staged = (await stack.gql(PREDICT_MANY, { requests, stage: 'STAGING' })).data!.predictMany;
    expect(alone.every((p: { shadow: unknown }) => p.shadow === null)).toBe(true);

    const set = await stack.gqlAsWriter(CONFIGURE, { model: 'etfs/SPY', shadow: true, reason: 'try v1.2.0' });
    expect(set.errors).toBeUndefined();
    expect(set.data!.configureTraffic).toMatchObject({
      action: 'TRAFFIC',
      fromVersion: 'v1.1.0',
      toVersion: 'v1.1.0',
      reason: 'try v1.2.0',
      traffic: { shadow: true, canaryPercent: 0 },
    });

    const runs = runtime.models.counters.sessionRuns;
    const counted = { ...runtime.predictor.counters };
    const r = await stack.gql(PREDICT_MANY, { requests });
    expect(r.errors).toBeUndefined();
    // One run of production, one of staging, for all 25 rows.
    expect(runtime.models.counters.sessionRuns - runs).toBe(2);
    const answers = r.data!.predictMany;
    let agreements = 0;
    answers.forEach((p: any, i: number) => {
      // Production's answer is unchanged by the shadow.
      expect({ ...p, shadow: null }).toEqual(alone[i]);
      expect(p.shadow).toEqual({
        version: 'v1.2.0',
        strategy: staged[i].strategy,
        confidence: staged[i].confidence,
        agrees: staged[i].strategy === p.strategy,
      });
      if (p.shadow.agrees) agreements++;
    });
    // Different seeds: some rows agree and some do not, so both branches are exercised.
    expect(agreements).toBeGreaterThan(0);
    expect(agreements).toBeLessThan(25);
    // The counters behind the ShadowRows / ShadowAgreements metrics.
    expect(runtime.predictor.counters.shadowRows - counted.shadowRows).toBe(25);
    expect(runtime.predictor.counters.shadowAgreements - counted.shadowAgreements).toBe(agreements);

    const t = await stack.gql(TRAFFIC, { id: 'etfs/SPY' });
    expect(t.data!.model.traffic).toEqual({ shadow: true, canaryPercent: 0 });
    expect(t.data!.model.shadowAgreement).toEqual([
      { productionVersion: 'v1.1.0', stagingVersion: 'v1.2.0', rows: 25, agreements, rate: agreements / 25 },
    ]);

    // Another instance reads the counts once they are flushed to the bucket.
    expect(await other.shadows.agreement('etfs/SPY')).toEqual([]);
    await runtime.shadows.flush();
    expect(await other.shadows.agreement('etfs/SPY')).toEqual([
      { productionVersion: 'v1.1.0', stagingVersion: 'v1.2.0', rows: 25, agreements },
    ]);
    // Its own shadow rows add to the total.
    const answered = await other.predictor.predictBatch(requests.slice(0, 5));
    expect(answered.every((a) => !(a instanceof Error) && (a as Prediction).shadow?.version === 'v1.2.0')).toBe(true);
    const extra = answered.filter((a) => (a as Prediction).shadow!.agrees).length;
    await other.shadows.flush();
    const t2 = await stack.gql(TRAFFIC, { id: 'etfs/SPY' });
    expect(t2.data!.model.shadowAgreement[0]).toMatchObject({ rows: 30, agreements: agreements + extra });
  });

  it('a staging version that cannot shadow (other features) never fails production', async () => {
    expect((await stack.gqlAsWriter(CONFIGURE, { model: 'etfs/QQQ', shadow: true })).errors).toBeUndefined();
    const r = await stack.gql(PREDICT_MANY, { requests: rows('QQQ', 3) });
    expect(r.errors).toBeUndefined();
    expect(r.data!.predictMany.map((p: { version: string; shadow: unknown }) => [p.version, p.shadow])).toEqual([
      ['v1.0.0', null],
      ['v1.0.0', null],
      ['v1.0.0', null],
    ]);

    // Nor does a staging pointer that cannot be read (here: damaged), with shadow and a canary on.
    const { store, registry } = stack.server.runtime;
    expect((await stack.gqlAsWriter(CONFIGURE, { model: 'etfs/QQQ', canaryPercent: 100 })).errors).toBeUndefined();
    const key = 'etfs/QQQ/staging/metadata.json';
    const original = await store.get(key);
    await store.put(key, '{ not json');
    registry.forget(key);
    try {
      const damaged = await stack.gql(PREDICT_MANY, { requests: rows('QQQ', 2) });
      expect(damaged.errors).toBeUndefined();
      expect(
        damaged.data!.predictMany.map((p: { version: string; stage: string; canary: boolean; shadow: unknown }) => [
          p.version,
          p.stage,
          p.canary,
          p.shadow,
        ]),
      ).toEqual([
        ['v1.0.0', 'PRODUCTION', false, null],
        ['v1.0.0', 'PRODUCTION', false, null],
      ]);
    } finally {
      await store.put(key, original.body);
      registry.forget(key);
    }
  });

  it('canary: a deterministic share of tickers, chosen by hash, is served by staging — the same on every request and instance', async () => {
    const set = await stack.gqlAsWriter(CONFIGURE, { model: 'stocks/universal', canaryPercent: 30 });
    expect(set.data!.configureTraffic.traffic).toEqual({ shadow: false, canaryPercent: 30 });
    const tickers = Object.keys(DEMO_STOCKS);
    const requests = tickers.map((ticker, i) => ({ ticker, features: featuresFor(DEMO_FEATURE_NAMES, i) }));
    const first = (await stack.gql(PREDICT_MANY, { requests })).data!.predictMany;
    const expected = tickers.map((t) => inCanary('stocks/universal', t, 30));
    expect(first.map((p: { canary: boolean }) => p.canary)).toEqual(expected);
    expect(first.map((p: { stage: string; version: string }) => [p.stage, p.version])).toEqual(
      expected.map((c) => (c ? ['STAGING', 'v1.2.0'] : ['PRODUCTION', 'v1.1.0'])),
    );
    const share = expected.filter(Boolean).length / tickers.length;
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.5);

    // Canary rows are staging's answers; the rest production's.
    const staging = (await stack.gql(PREDICT_MANY, { requests, stage: 'STAGING' })).data!.predictMany;
    const production = (await stack.gql(PREDICT_MANY, { requests, stage: 'PRODUCTION' })).data!.predictMany;
    expect(production.map((p: { canary: boolean }) => p.canary)).toEqual(expected);
    first.forEach((p: { strategy: string; confidence: number }, i: number) => {
      if (expected[i]) expect([p.strategy, p.confidence]).toEqual([staging[i].strategy, staging[i].confidence]);
    });
    // Another instance, reading the pointer from the bucket, routes the same tickers.
    const elsewhere = await other.predictor.predictBatch(requests);
    expect(elsewhere.map((a) => (a as Prediction).canary)).toEqual(expected);
    // An explicit STAGING request is not a canary.
    expect(staging.every((p: { canary: boolean; stage: string }) => !p.canary && p.stage === 'STAGING')).toBe(true);
    // Once staging's version is promoted there is nothing to try: production answers every ticker.
    await stack.server.runtime.deployments.promote({
      model: 'stocks/universal',
      version: 'v1.2.0',
      stage: 'PRODUCTION',
      by: 'test',
    });
    const promoted = (await stack.gql(PREDICT_MANY, { requests })).data!.predictMany;
    expect(
      promoted.map((p: { canary: boolean; stage: string; version: string }) => [p.canary, p.stage, p.version]),
    ).toEqual(tickers.map(() => [false, 'PRODUCTION', 'v1.2.0']));
  });

  it('traffic settings survive promotions, and rollback skips TRAFFIC entries to the previous version', async () => {
    const { runtime } = stack.server;
    await runtime.deployments.promote({ model: 'etfs/SPY', version: 'v1.2.0', stage: 'PRODUCTION', by: 'test' });
    const promoted = (await runtime.deployments.currentPointer('etfs/SPY', 'PRODUCTION'))!.value;
    expect(promoted.traffic).toEqual({ shadow: true, canary_percent: 0 });
    // Production and staging are now the same version: nothing to shadow.
    const r = await stack.gql(PREDICT_MANY, { requests: rows('SPY', 2) });
    expect(r.data!.predictMany.map((p: { shadow: unknown }) => p.shadow)).toEqual([null, null]);

    await stack.gqlAsWriter(CONFIGURE, { model: 'etfs/SPY', shadow: false, reason: 'done' });
    const back = await stack.gqlAsWriter(`mutation { rollback(model: "etfs/SPY") { fromVersion toVersion } }`);
    expect(back.data!.rollback).toEqual({ fromVersion: 'v1.2.0', toVersion: 'v1.1.0' });
    const history = await stack.gql(
      `{ deployments(model: "etfs/SPY", first: 4) { action stage fromVersion toVersion traffic { shadow canaryPercent } } }`,
    );
    expect(history.data!.deployments).toEqual([
      { action: 'ROLLBACK', stage: 'PRODUCTION', fromVersion: 'v1.2.0', toVersion: 'v1.1.0', traffic: null },
      {
        action: 'TRAFFIC',
        stage: 'PRODUCTION',
        fromVersion: 'v1.2.0',
        toVersion: 'v1.2.0',
        traffic: { shadow: false, canaryPercent: 0 },
      },
      { action: 'PROMOTE', stage: 'PRODUCTION', fromVersion: 'v1.1.0', toVersion: 'v1.2.0', traffic: null },
      {
        action: 'TRAFFIC',
        stage: 'PRODUCTION',
        fromVersion: 'v1.1.0',
        toVersion: 'v1.1.0',
        traffic: { shadow: true, canaryPercent: 0 },
      },
    ]);
  });
});
