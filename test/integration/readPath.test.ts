import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { DEMO_ETFS, DEMO_STOCKS, demoAssetRegistry } from '../../src/local/demoSeed';
import { ASSET_REGISTRY_KEY } from '../../src/registry/bucketLayout';
import { publishVersion } from '../../src/registry/versionPublisher';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';

const PREDICT = `query($ticker: String!, $features: JSONObject!) {
  predict(ticker: $ticker, features: $features) { ticker strategy confidence version modelType model { id } probabilities { label probability } }
}`;
const PREDICT_MANY = `query($requests: [PredictionRequest!]!) {
  predictMany(requests: $requests) { ticker strategy confidence version model { id } }
}`;

describe('read path: tickers → models → predictions', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
    // Prepare: a registry that also exercises uses_model and an undeployed ETF.
    const { store, deployments, registry } = stack.server.runtime;
    const doc = demoAssetRegistry();
    doc.etfs.DIA = {
      name: 'SPDR Dow Jones ETF',
      sector: 'Broad Market',
      status: 'active',
      uses_model: 'universal/all_assets_classifier',
    };
    doc.etfs.XLE = {
      name: 'Energy Select Sector SPDR',
      sector: 'Energy',
      status: 'active',
      model_path: 'etfs/XLE/production/',
    };
    doc.stocks.supported_tickers.BRK = { name: 'Berkshire (served by SPY model)', uses_model: 'etfs/SPY' };
    await store.put(ASSET_REGISTRY_KEY, JSON.stringify(doc));
    // etfs/XLE has a version but nothing deployed; etfs/ZIP has a ZipMap model in production.
    const files = (bytes: Uint8Array) => ({
      'model.onnx': Buffer.from(bytes),
      'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES)),
    });
    const spec = { featureNames: DEMO_FEATURE_NAMES, labels: OPTION_STRATEGIES, trees: 4, depth: 3, seed: 9 };
    await publishVersion(store, 'etfs/XLE', 'v1', files(buildTreeEnsembleClassifier(spec)), {
      strategies: [...OPTION_STRATEGIES],
    });
    await publishVersion(store, 'etfs/ZIP', 'v1', files(buildTreeEnsembleClassifier({ ...spec, zipMap: true })), {
      strategies: [...OPTION_STRATEGIES],
    });
    await deployments.promote({ model: 'etfs/ZIP', version: 'v1', stage: 'PRODUCTION', by: 'test' });
    doc.etfs.ZIP = { name: 'ZipMap test', status: 'active' };
    await store.put(ASSET_REGISTRY_KEY, JSON.stringify(doc));
    registry.invalidate();
  });
  afterAll(() => stack?.close());

  it('routes an ETF to its own model, a stock to the universal model, and honours uses_model', async () => {
    // Act
    const answers = await Promise.all(
      ['SPY', 'aapl', 'DIA', 'BRK'].map((ticker, i) =>
        stack.gql(PREDICT, { ticker, features: featuresFor(DEMO_FEATURE_NAMES, i) }),
      ),
    );
    // Assess
    const routed = answers.map((a) => [a.data?.predict.ticker, a.data?.predict.model.id, a.data?.predict.modelType]);
    expect(routed).toEqual([
      ['SPY', 'etfs/SPY', 'ETF_SPECIFIC'],
      ['AAPL', 'stocks/universal', 'STOCK_UNIVERSAL'],
      ['DIA', 'universal/all_assets_classifier', 'UNIVERSAL'],
      ['BRK', 'etfs/SPY', 'ETF_SPECIFIC'],
    ]);
    expect(answers[0].data?.predict.version).toBe('v1.1.0');
  });

  it('answers a probability for every label, summing to 1, with the winner as strategy', async () => {
    const { data } = await stack.gql(PREDICT, { ticker: 'QQQ', features: featuresFor(DEMO_FEATURE_NAMES, 3) });
    const p = data!.predict;
    expect(p.probabilities.map((x: { label: string }) => x.label)).toEqual(OPTION_STRATEGIES);
    const total = p.probabilities.reduce((s: number, x: { probability: number }) => s + x.probability, 0);
    expect(total).toBeCloseTo(1, 4);
    const best = p.probabilities.reduce((a: any, b: any) => (b.probability > a.probability ? b : a));
    expect(p.strategy).toBe(best.label);
    expect(p.confidence).toBeCloseTo(best.probability, 6);
  });

  it('gives predictions that vary with the features', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({
      ticker: 'SPY',
      features: featuresFor(DEMO_FEATURE_NAMES, i * 7),
    }));
    const { data } = await stack.gql(PREDICT_MANY, { requests: rows });
    const strategies = new Set(data!.predictMany.map((p: { strategy: string }) => p.strategy));
    expect(strategies.size).toBeGreaterThan(2);
  });

  it('rejects an unknown ticker with UNKNOWN_ASSET instead of guessing', async () => {
    const res = await stack.gql(PREDICT, { ticker: 'NOPE', features: {} });
    expect(res.errors?.[0].extensions?.code).toBe('UNKNOWN_ASSET');
    expect(res.data).toBeNull();
  });

  it('answers MODEL_NOT_DEPLOYED for an asset whose model has no production version', async () => {
    const res = await stack.gql(PREDICT, { ticker: 'XLE', features: featuresFor(DEMO_FEATURE_NAMES, 1) });
    expect(res.errors?.[0].extensions?.code).toBe('MODEL_NOT_DEPLOYED');
  });

  it('refuses a ZipMap model with INVALID_MODEL', async () => {
    const res = await stack.gql(PREDICT, { ticker: 'ZIP', features: featuresFor(DEMO_FEATURE_NAMES, 1) });
    expect(res.errors?.[0].extensions?.code).toBe('INVALID_MODEL');
    expect(res.errors?.[0].message).toMatch(/zipmap/i);
  });

  it('names missing, unknown and non-finite features in BAD_USER_INPUT', async () => {
    // Prepare
    const features: Record<string, unknown> = featuresFor(DEMO_FEATURE_NAMES, 2);
    delete features.iv_rank;
    features.moon_phase = 0.5;
    features.rsi_14 = 'high';
    // Act: 1e999 is valid JSON that parses to Infinity.
    const body = JSON.stringify({ query: PREDICT, variables: { ticker: 'SPY', features } }).replace(
      '"hv_20":',
      '"hv_20":1e999,"_x":',
    );
    const res = await fetch(stack.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const json = (await res.json()) as any;
    // Assess
    const ext = json.errors[0].extensions;
    expect(ext.code).toBe('BAD_USER_INPUT');
    expect(ext.missingFeatures).toEqual(['iv_rank']);
    expect(ext.unknownFeatures.sort()).toEqual(['_x', 'moon_phase']);
    expect(ext.nonFiniteFeatures.sort()).toEqual(['hv_20', 'rsi_14']);
    expect(json.errors[0].message).toContain('iv_rank');
  });

  it('fails predictMany as a whole with the failing request named', async () => {
    const requests = [
      { ticker: 'SPY', features: featuresFor(DEMO_FEATURE_NAMES, 1) },
      { ticker: 'AAPL', features: { iv_rank: 1 } },
    ];
    const res = await stack.gql(PREDICT_MANY, { requests });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toContain('requests[1]');
    // Also when the row fails before its features are read: an unknown ticker, a refused model.
    for (const [row, code] of [
      [{ ticker: 'NOPE', features: {} }, 'UNKNOWN_ASSET'],
      [{ ticker: 'SPY', features: {}, model: 'etfs/QQQ' }, 'BAD_USER_INPUT'],
      [{ ticker: 'SPY', features: {}, model: '../x' }, 'BAD_USER_INPUT'],
    ] as const) {
      const failed = await stack.gql(PREDICT_MANY, { requests: [requests[0], requests[0], row] });
      expect(failed.errors?.[0].extensions?.code).toBe(code);
      expect(failed.errors?.[0].message).toMatch(/^requests\[2\]: /);
      expect(failed.errors?.[0].extensions?.request).toBe(2);
    }
  });

  it('validates tickers before they reach a key', async () => {
    stack.server.s3!.resetRequests();
    for (const ticker of ['../metadata', 'SPY/../../x', 'A'.repeat(200), 'S\u0000PY']) {
      const res = await stack.gql(PREDICT, { ticker, features: {} });
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(stack.server.s3!.requests().filter((r) => r.key.includes('..') || r.key.includes('\u0000'))).toEqual([]);
  });
});

describe('one fetch and one batched run per model', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('a cold 50-ticker portfolio makes 6 model fetches and 6 session runs; the warm repeat makes none', async () => {
    // Prepare: a fresh process state (the seed loaded nothing) and 5 ETFs + 45 stocks.
    const { runtime, s3 } = stack.server;
    const stocks = Object.keys(DEMO_STOCKS).slice(0, 45);
    expect(stocks).toHaveLength(45);
    const tickers = [...Object.keys(DEMO_ETFS), ...stocks];
    const requests = tickers.map((ticker, i) => ({ ticker, features: featuresFor(DEMO_FEATURE_NAMES, i) }));
    expect(runtime.models.loadedKeys).toEqual([]);
    s3!.resetRequests();
    const runsBefore = runtime.models.counters.sessionRuns;

    // Act: cold
    const cold = await stack.gql(PREDICT_MANY, { requests });

    // Assess
    expect(cold.errors).toBeUndefined();
    expect(cold.data!.predictMany).toHaveLength(50);
    expect(cold.data!.predictMany.map((p: { ticker: string }) => p.ticker)).toEqual(tickers);
    const modelGets = s3!.count({ method: 'GET', keySuffix: 'model.onnx' });
    expect(modelGets).toBe(6);
    expect(runtime.models.counters.sessionRuns - runsBefore).toBe(6);
    expect(runtime.models.counters.loads).toBe(6);

    // Act: warm, identical request
    s3!.resetRequests();
    const warm = await stack.gql(PREDICT_MANY, { requests });

    // Assess: no S3 request at all within the pointer TTL, one run per model again, same answers.
    expect(s3!.count({ method: 'GET', keySuffix: 'model.onnx' })).toBe(0);
    expect(s3!.requests()).toEqual([]);
    expect(runtime.models.counters.sessionRuns - runsBefore).toBe(12);
    expect(warm.data).toEqual(cold.data);
  });

  it('batches aliased predict fields of one request into one run per model', async () => {
    const { runtime } = stack.server;
    const before = runtime.models.counters.sessionRuns;
    const f = JSON.stringify(featuresFor(DEMO_FEATURE_NAMES, 5)).replace(/"([a-z0-9_]+)":/g, '$1:');
    const query = `{ a: predict(ticker: "AAPL", features: ${f}) { strategy } b: predict(ticker: "MSFT", features: ${f}) { strategy }
      c: predict(ticker: "TSLA", features: ${f}) { strategy } d: predict(ticker: "SPY", features: ${f}) { strategy } }`;
    const res = await stack.gql(query);
    expect(res.errors).toBeUndefined();
    // stocks/universal once for a, b, c and etfs/SPY once for d
    expect(runtime.models.counters.sessionRuns - before).toBe(2);
    expect(res.data!.a.strategy).toBe(res.data!.b.strategy); // same model, same features
  });
});

describe('concurrent loads of one model', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('20 concurrent cold requests share one download and one session', async () => {
    const { runtime, s3 } = stack.server;
    s3!.resetRequests();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stack.gql(PREDICT, { ticker: 'IWM', features: featuresFor(DEMO_FEATURE_NAMES, i) }),
      ),
    );
    expect(results.every((r) => r.data?.predict.model.id === 'etfs/IWM')).toBe(true);
    expect(s3!.count({ method: 'GET', keySuffix: 'etfs/IWM/archive/v1.0.0/model.onnx' })).toBe(1);
    expect(runtime.models.counters.loads).toBe(1);
  });
});
