import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { demoModel } from '../../src/demo/treeEnsemble';
import type { ModelBundle } from '../../src/inference/modelBundle';
import { demoAssetRegistry } from '../../src/local/demoSeed';
import { ASSET_REGISTRY_KEY } from '../../src/registry/bucketLayout';
import { publishVersion } from '../../src/registry/versionPublisher';
import type { Runtime } from '../../src/runtime';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { PREDICT_MANY, rssMiB } from './support';

/**
 * Memory pressure: 100 distinct models whose total size is several times
 * MODEL_CACHE_MAX_MB. Loaded bytes stay within the bound, evicted sessions are
 * released, a prediction in flight on an evicted model still completes, and
 * concurrent loads under pressure all succeed.
 */
const CACHE_MB = 1;
const BOUND = CACHE_MB * 1024 * 1024;
const MODELS = 100;
const tickerOf = (i: number) => `M${String(i).padStart(3, '0')}`;
const modelOf = (i: number) => `etfs/${tickerOf(i)}`;
/** 10 trees of depth 5 over 84 features × 10 labels ≈ 34 KB: 100 of them ≈ 3.4 MB, about 30 fit. */
const SMALL = { trees: 10, depth: 5 };
/** ≈ 1.8 MB: larger than the whole bound. */
const HUGE = { trees: 60, depth: 8 };
const BIG_ROWS = 4_000;

const files = (seed: number, size: { trees: number; depth: number }) => ({
  'model.onnx': Buffer.from(demoModel(seed, size)),
  'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES)),
});

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('many models under a memory bound', () => {
  let stack: TestStack;
  let runtime: Runtime;
  const rss: Record<string, number> = {};

  /** The loaded bundle of a model's production version (loads it if needed). */
  async function bundleOf(model: string): Promise<ModelBundle> {
    const pointer = (await runtime.registry.stagePointer(model, 'PRODUCTION'))!;
    return runtime.models.get(model, pointer.value.version, pointer.value);
  }

  const rowsFor = (tickers: string[], offset = 0) =>
    tickers.map((ticker, i) => ({ ticker, features: featuresFor(DEMO_FEATURE_NAMES, i + offset) }));

  beforeAll(async () => {
    stack = await startTestStack({
      env: { MODEL_CACHE_MAX_MB: String(CACHE_MB), MAX_BODY_BYTES: String(16 * 1024 * 1024) },
    });
    runtime = stack.server.runtime;
    const { store, deployments, registry } = runtime;
    const description = { strategies: [...OPTION_STRATEGIES] };
    const all = Array.from({ length: MODELS }, (_, i) => i);
    await inBatches(all, 10, async (i) => {
      await publishVersion(store, modelOf(i), 'v1', files(1_000 + i, SMALL), description);
      await deployments.promote({ model: modelOf(i), version: 'v1', stage: 'PRODUCTION', by: 'test' });
    });
    await publishVersion(store, 'etfs/HUGE', 'v1', files(7, HUGE), description);
    await deployments.promote({ model: 'etfs/HUGE', version: 'v1', stage: 'PRODUCTION', by: 'test' });
    const doc = demoAssetRegistry();
    for (const i of all)
      doc.etfs[tickerOf(i)] = { name: `Model ${i}`, status: 'active', model_path: `${modelOf(i)}/production/` };
    doc.etfs.HUGE = { name: 'Larger than the cache bound', status: 'active' };
    await store.put(ASSET_REGISTRY_KEY, JSON.stringify(doc));
    registry.invalidate();
    runtime.models.clear();
    rss.start = rssMiB();
  }, 120_000);

  afterAll(async () => {
    console.log(
      `RSS (MiB): ${Object.entries(rss)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    await stack?.close();
  });

  it('loads 100 models one request after another without exceeding the bound, releasing every evicted session', async () => {
    // Act: ten requests of ten models each, keeping a handle on every bundle that served
    const seen: ModelBundle[] = [];
    let maxLoaded = 0;
    for (let batch = 0; batch < MODELS / 10; batch++) {
      const tickers = Array.from({ length: 10 }, (_, k) => tickerOf(batch * 10 + k));
      const res = await stack.gql(PREDICT_MANY, { requests: rowsFor(tickers, batch) });
      expect(res.errors).toBeUndefined();
      expect(res.data!.predictMany.map((p: { model: { id: string } }) => p.model.id)).toEqual(
        tickers.map((t) => `etfs/${t}`),
      );
      maxLoaded = Math.max(maxLoaded, runtime.models.loadedBytes);
      for (const t of tickers) seen.push(await bundleOf(`etfs/${t}`));
    }
    rss.afterSequential = rssMiB();

    // Assess: the bound held, models were evicted, and evicted ⇔ released
    expect(maxLoaded).toBeLessThanOrEqual(BOUND);
    expect(runtime.models.loadedBytes).toBeLessThanOrEqual(BOUND);
    expect(runtime.models.counters.evictions).toBeGreaterThan(0);
    const loaded = new Set(runtime.models.loadedKeys);
    expect(loaded.size).toBeGreaterThan(10);
    expect(loaded.size).toBeLessThan(MODELS);
    for (const b of seen)
      expect({ key: b.key, released: b.isReleased }).toEqual({ key: b.key, released: !loaded.has(b.key) });
  });

  it('answers one request that needs all 100 models at once (100 concurrent loads) within the bound', async () => {
    // Prepare
    runtime.models.clear();
    const tickers = Array.from({ length: MODELS }, (_, i) => tickerOf(i));
    // Act
    const res = await stack.gql(PREDICT_MANY, { requests: rowsFor(tickers, 7) });
    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.predictMany).toHaveLength(MODELS);
    expect(res.data!.predictMany.map((p: { ticker: string }) => p.ticker)).toEqual(tickers);
    expect(runtime.models.loadedBytes).toBeLessThanOrEqual(BOUND);
    rss.afterConcurrent = rssMiB();

    // and several such requests at once
    const many = await Promise.all(
      [0, 1, 2].map((k) => stack.gql(PREDICT_MANY, { requests: rowsFor([...tickers].reverse(), k) })),
    );
    for (const r of many) expect(r.errors).toBeUndefined();
    expect(runtime.models.loadedBytes).toBeLessThanOrEqual(BOUND);
  });

  it('completes a large prediction whose model is evicted while it runs, then releases the session', async () => {
    // Prepare: a reference answer for a large batch on model A, and A's loaded bundle
    const A = tickerOf(0);
    const rows = Array.from({ length: BIG_ROWS }, (_, i) => ({
      ticker: A,
      features: featuresFor(DEMO_FEATURE_NAMES, i),
    }));
    const reference = await stack.gql(PREDICT_MANY, { requests: rows });
    expect(reference.errors).toBeUndefined();
    const bundle = await bundleOf(modelOf(0));
    expect(bundle.isReleased).toBe(false);

    // onnxruntime-node runs a session synchronously (inside a setImmediate), so a run cannot
    // overlap other work by itself. Hold A's big run at its start to make it a long, in-flight
    // run; the eviction itself happens for real, by loading other models through the API.
    const proto = (ort.InferenceSession as unknown as { prototype: { run: (...args: unknown[]) => Promise<unknown> } })
      .prototype;
    const originalRun = proto.run;
    let started!: () => void;
    const runStarted = new Promise<void>((resolve) => (started = resolve));
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => (proceed = resolve));
    proto.run = async function (this: unknown, ...args: unknown[]) {
      const feeds = args[0] as Record<string, { dims: readonly number[] }>;
      if (Object.values(feeds)[0]?.dims[0] === BIG_ROWS) {
        started();
        await gate;
      }
      return originalRun.apply(this, args);
    };
    try {
      // Act: the large request starts running on A…
      const big = stack.gql(PREDICT_MANY, { requests: rows });
      await runStarted;
      expect(runtime.models.loadedKeys).toContain(`${modelOf(0)}@v1`);
      // …while 60 other models are loaded, pushing A out of the cache
      const others = Array.from({ length: 60 }, (_, i) => tickerOf(i + 20));
      const pressure = await stack.gql(PREDICT_MANY, { requests: rowsFor(others) });
      expect(pressure.errors).toBeUndefined();
      // Assess: A was evicted, but its session is kept for the run in flight
      expect(runtime.models.loadedKeys).not.toContain(`${modelOf(0)}@v1`);
      expect(runtime.models.loadedBytes).toBeLessThanOrEqual(BOUND);
      expect(bundle.isReleased).toBe(false);
      proceed();
      const answer = await big;
      // Assess: the run completed correctly, then the session was released
      expect(answer.errors).toBeUndefined();
      expect(answer.data).toEqual(reference.data);
      expect(bundle.isReleased).toBe(true);
    } finally {
      proceed();
      proto.run = originalRun;
    }
  });

  it('serves a model larger than the whole bound, loading it once and keeping the cache consistent', async () => {
    // Prepare
    const before = await Promise.all([1, 2, 3].map((i) => bundleOf(modelOf(i))));
    const loadsBefore = runtime.models.counters.loads;
    const rows = (k: number) => [{ ticker: 'HUGE', features: featuresFor(DEMO_FEATURE_NAMES, k) }];
    // Act: three requests for the huge model, one after another
    const answers = [];
    for (const k of [1, 2, 3]) answers.push(await stack.gql(PREDICT_MANY, { requests: rows(k) }));
    // Assess: answered each time, loaded once, alone in the cache; the models it pushed out are released
    for (const a of answers) expect(a.errors).toBeUndefined();
    expect(runtime.models.counters.loads - loadsBefore).toBe(1);
    expect(runtime.models.loadedKeys).toEqual(['etfs/HUGE@v1']);
    for (const b of before) expect(b.isReleased).toBe(true);
    const huge = await bundleOf('etfs/HUGE');
    expect(runtime.models.loadedBytes).toBe(huge.sizeBytes);

    // Act: a small model comes back, which pushes the huge one out
    const res = await stack.gql(PREDICT_MANY, { requests: rowsFor([tickerOf(5)]) });
    expect(res.errors).toBeUndefined();
    expect(huge.isReleased).toBe(true);
    expect(runtime.models.loadedKeys).toEqual([`${modelOf(5)}@v1`]);
    expect(runtime.models.loadedBytes).toBeLessThanOrEqual(BOUND);
    rss.end = rssMiB();
  });
});
