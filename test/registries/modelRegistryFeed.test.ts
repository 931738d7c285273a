import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushVersion } from '../../src/release/pushVersion';
import { DEPLOYMENT_HISTORY_KEY, MODEL_REGISTRY_KEY, stagePointerKey } from '../../src/registry/bucketLayout';
import type { DeploymentResult } from '../../src/registry/deployments';
import { modelRegistryFeed, updateModelRegistry } from '../../src/registry/modelRegistryFeed';
import type { DeploymentRecord, StagePointer } from '../../src/registry/versionMetadata';
import { startTestStack, type TestStack } from '../support/stack';
import { FEATURES, LABELS, separateProcesses, smallModel } from '../writePath/support';

const RACE_MODELS = Array.from({ length: 10 }, (_, i) => `etfs/FEED${i}`);

describe('metadata/model_registry.json and deployment_history.json follow the stage pointers', () => {
  let stack: TestStack;
  const processes = separateProcesses(() => stack);
  const json = async (key: string) => JSON.parse((await stack.server.runtime.store.get(key)).body.toString('utf8'));
  const pointer = async (model: string, stage: 'PRODUCTION' | 'STAGING' = 'PRODUCTION'): Promise<StagePointer> =>
    json(stagePointerKey(model, stage));

  /** Registry and Deployments over their own S3 client: what another process would have. */
  function separateProcess(opts: { warnings?: string[] } = {}) {
    return processes.open({
      onWarning: (message, details) => opts.warnings?.push(`${message}: ${JSON.stringify(details)}`),
    });
  }

  beforeAll(async () => {
    stack = await startTestStack();
    for (const [i, model] of RACE_MODELS.entries()) {
      for (const version of ['v1', 'v2']) {
        await pushVersion(stack.server.runtime, {
          model,
          version,
          files: {
            'model.onnx': Buffer.from(smallModel({ seed: 500 + i, trees: 2, depth: 2 })),
            'feature_names.json': Buffer.from(JSON.stringify(FEATURES)),
          },
          description: { strategies: LABELS },
        });
      }
    }
  });
  afterAll(async () => {
    processes.close();
    await stack?.close();
  });

  it('the seed leaves both documents matching every pointer and every recorded deployment', async () => {
    // Prepare: the truth, from the stage pointers.
    const { registry, deployments } = stack.server.runtime;
    const models = (await registry.listModels()).map((m) => m.id);
    const histories = (await Promise.all(models.map((m) => deployments.history(m)))).flat();

    // Act
    const doc = await json(MODEL_REGISTRY_KEY);
    const feed = await json(DEPLOYMENT_HISTORY_KEY);

    // Assess: the object form (the old seed wrote an array), one entry per deployed model …
    expect(Array.isArray(doc.models)).toBe(false);
    expect(doc.models['etfs/SPY']).toMatchObject({ type: 'ETF_SPECIFIC', production: { promoted_by: 'demo-seed' } });
    expect(doc.models['stocks/universal']).toMatchObject({ type: 'STOCK_UNIVERSAL' });
    expect(doc.models['experimental/momentum_v2']).toMatchObject({
      type: 'EXPERIMENTAL',
      production: null,
      staging: { version: 'v0.1.0', generation: 1 },
    });
    for (const m of models) {
      const [prod, staging] = await Promise.all([
        registry.stagePointer(m, 'PRODUCTION'),
        registry.stagePointer(m, 'STAGING'),
      ]);
      if (!prod && !staging) continue;
      expect(doc.models[m]?.production?.version ?? null, m).toBe(prod?.value.version ?? null);
      expect(doc.models[m]?.production?.generation ?? null, m).toBe(prod?.value.generation ?? null);
      expect(doc.models[m]?.staging?.version ?? null, m).toBe(staging?.value.version ?? null);
    }
    expect(Number.isNaN(Date.parse(doc.last_updated))).toBe(false);
    // … and the feed holds exactly the deployments the pointers recorded, oldest first.
    expect(feed.deployments.map((d: DeploymentRecord) => d.id).sort()).toEqual(histories.map((d) => d.id).sort());
    const times = feed.deployments.map((d: DeploymentRecord) => d.at);
    expect(times).toEqual([...times].sort());
  });

  it('promote and rollback show in both documents and in modelRegistry / recentDeployments', async () => {
    // Prepare: SPY production as seeded (it has an earlier version to roll back to).
    const spyBefore = await pointer('etfs/SPY');
    const spyStaging = await pointer('etfs/SPY', 'STAGING');
    const back = spyBefore.history.at(-1)!.from!;
    expect(back).toBeTruthy();

    // Act
    const promoted = await stack.gqlAsWriter(
      `mutation { promote(model: "etfs/QQQ", version: "v1.0.0", stage: STAGING, reason: "feed") { id generation } }`,
    );
    const rolledBack = await stack.gqlAsWriter(
      `mutation { rollback(model: "etfs/SPY", reason: "feed") { id toVersion generation } }`,
    );

    // Assess: the mutations …
    expect(promoted.errors).toBeUndefined();
    expect(rolledBack.errors).toBeUndefined();
    expect(rolledBack.data!.rollback).toMatchObject({ toVersion: back, generation: spyBefore.generation + 1 });
    // … the documents …
    const doc = await json(MODEL_REGISTRY_KEY);
    expect(doc.models['etfs/SPY'].production).toMatchObject({ version: back, generation: spyBefore.generation + 1 });
    expect(doc.models['etfs/SPY'].staging).toMatchObject({
      version: spyStaging.version,
      generation: spyStaging.generation,
    });
    expect(doc.models['etfs/QQQ'].staging).toMatchObject({ version: 'v1.0.0', generation: 1 });
    const feed = await json(DEPLOYMENT_HISTORY_KEY);
    expect(feed.deployments.slice(-2).map((d: DeploymentRecord) => d.id)).toEqual([
      promoted.data!.promote.id,
      rolledBack.data!.rollback.id,
    ]);
    expect(feed.deployments.at(-1)).toMatchObject({
      model: 'etfs/SPY',
      action: 'ROLLBACK',
      from: spyBefore.version,
      to: back,
      reason: 'feed',
    });
    // … and GraphQL.
    const read = await stack.gql(`{
      recentDeployments(first: 2) { id action model { id type } stage fromVersion toVersion generation reason }
      modelRegistry { model { id type } productionVersion stagingVersion updatedAt }
    }`);
    expect(read.errors).toBeUndefined();
    expect(read.data!.recentDeployments).toEqual([
      {
        id: rolledBack.data!.rollback.id,
        action: 'ROLLBACK',
        model: { id: 'etfs/SPY', type: 'ETF_SPECIFIC' },
        stage: 'PRODUCTION',
        fromVersion: spyBefore.version,
        toVersion: back,
        generation: spyBefore.generation + 1,
        reason: 'feed',
      },
      {
        id: promoted.data!.promote.id,
        action: 'PROMOTE',
        model: { id: 'etfs/QQQ', type: 'ETF_SPECIFIC' },
        stage: 'STAGING',
        fromVersion: null,
        toVersion: 'v1.0.0',
        generation: 1,
        reason: 'feed',
      },
    ]);
    const entries = read.data!.modelRegistry as Array<{
      model: { id: string };
      productionVersion: string | null;
      stagingVersion: string | null;
      updatedAt: string;
    }>;
    expect(entries.map((e) => e.model.id)).toEqual(Object.keys(doc.models).sort());
    const spy = entries.find((e) => e.model.id === 'etfs/SPY')!;
    expect(spy).toMatchObject({ productionVersion: back, stagingVersion: spyStaging.version });
    expect(spy.updatedAt).toBe(new Date(doc.models['etfs/SPY'].production.promoted_at).toISOString());
    expect(entries.find((e) => e.model.id === 'experimental/momentum_v2')).toMatchObject({
      productionVersion: null,
      stagingVersion: 'v0.1.0',
    });
    const none = await stack.gql(`{ recentDeployments(first: -5) { id } }`);
    expect(none.data!.recentDeployments).toEqual([]);
  });

  it('10 concurrent promotions of different models from separate processes: none is lost, each recorded once', async () => {
    // Prepare
    const registryBefore = await json(MODEL_REGISTRY_KEY);
    const feedBefore = await json(DEPLOYMENT_HISTORY_KEY);
    const warnings: string[] = [];
    const racers = RACE_MODELS.map(() => separateProcess({ warnings }));
    for (const r of racers) r.deployments.addListener(modelRegistryFeed(r.registry));
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const results = await Promise.all(
      RACE_MODELS.map((model, i) =>
        racers[i].deployments.promote({ model, version: 'v2', stage: 'PRODUCTION', by: `racer-${i}` }),
      ),
    );

    // Assess: it was a race on the documents, and no listener gave up …
    expect(
      s3.count({ method: 'PUT', key: MODEL_REGISTRY_KEY, status: 412 }) +
        s3.count({ method: 'PUT', key: DEPLOYMENT_HISTORY_KEY, status: 412 }),
    ).toBeGreaterThan(0);
    expect(warnings).toEqual([]);
    // … every model is in model_registry.json, and nothing that was there is lost …
    const doc = await json(MODEL_REGISTRY_KEY);
    for (const [i, model] of RACE_MODELS.entries()) {
      expect(doc.models[model], model).toEqual({
        type: 'ETF_SPECIFIC',
        production: { version: 'v2', generation: 1, promoted_at: results[i].record.at, promoted_by: `racer-${i}` },
        staging: null,
      });
    }
    for (const [model, entry] of Object.entries(registryBefore.models)) expect(doc.models[model]).toEqual(entry);
    // … and the feed gained exactly one entry per move.
    const feed = await json(DEPLOYMENT_HISTORY_KEY);
    expect(feed.deployments).toHaveLength(feedBefore.deployments.length + RACE_MODELS.length);
    const ids = feed.deployments.map((d: DeploymentRecord) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of results) expect(ids.filter((id: string) => id === r.record.id)).toHaveLength(1);
  });

  it('an older generation arriving late, or a retried update, changes nothing; a newer one wins', async () => {
    // Prepare: two real moves of one stage, generations g and g+1.
    const { registry, deployments } = stack.server.runtime;
    const first = await deployments.promote({ model: 'etfs/FEED0', version: 'v1', stage: 'STAGING', by: 'order' });
    const second = await deployments.promote({ model: 'etfs/FEED0', version: 'v2', stage: 'STAGING', by: 'order' });
    expect(second.record.generation).toBe(first.record.generation + 1);
    const feed = modelRegistryFeed(registry);
    const s3 = stack.server.s3!;
    const registryEtag = (await stack.server.runtime.store.head(MODEL_REGISTRY_KEY))!.etag;
    s3.resetRequests();

    // Act: the first move is delivered again, after the second; then the second again.
    await feed(first);
    await feed(second);

    // Assess: nothing was written and the entry names the newer move.
    expect(s3.count({ method: 'PUT', key: MODEL_REGISTRY_KEY })).toBe(0);
    expect(s3.count({ method: 'PUT', key: DEPLOYMENT_HISTORY_KEY })).toBe(0);
    expect((await stack.server.runtime.store.head(MODEL_REGISTRY_KEY))!.etag).toBe(registryEtag);
    expect((await json(MODEL_REGISTRY_KEY)).models['etfs/FEED0'].staging).toMatchObject({
      version: 'v2',
      generation: second.record.generation,
    });

    // Act: a move the documents never saw, delivered out of order (newer first).
    const at = (s: number) => new Date(Date.parse('2020-01-01T00:00:00Z') + s * 1000).toISOString();
    const synthetic = (generation: number, version: string): DeploymentResult => {
      const record: DeploymentRecord = {
        id: `synthetic-${generation}`,
        model: 'etfs/FEED1',
        stage: 'STAGING',
        action: 'PROMOTE',
        from: null,
        to: version,
        by: 'order',
        at: at(generation),
        reason: null,
        generation,
      };
      const p = {
        ...second.pointer,
        version,
        stage: 'STAGING',
        generation,
        promoted_at: record.at,
        promoted_by: 'order',
        history: [record],
      } as StagePointer;
      return { record, pointer: p };
    };
    await feed(synthetic(8, 'v2'));
    await feed(synthetic(7, 'v1'));

    // Assess: the newer generation stays; the feed holds both, in time order (these are older than the rest).
    expect((await json(MODEL_REGISTRY_KEY)).models['etfs/FEED1'].staging).toEqual({
      version: 'v2',
      generation: 8,
      promoted_at: at(8),
      promoted_by: 'order',
    });
    expect((await json(DEPLOYMENT_HISTORY_KEY)).deployments.slice(0, 2).map((d: DeploymentRecord) => d.id)).toEqual([
      'synthetic-7',
      'synthetic-8',
    ]);

    // Act/Assess: a newer generation replaces it.
    await feed(synthetic(9, 'v1'));
    expect((await json(MODEL_REGISTRY_KEY)).models['etfs/FEED1'].staging).toMatchObject({
      version: 'v1',
      generation: 9,
    });
  });

  it('a failing listener does not fail the promotion, and later listeners still run', async () => {
    // Prepare
    const warnings: string[] = [];
    const { registry, deployments } = separateProcess({ warnings });
    deployments.addListener(async () => {
      throw new Error('listener exploded');
    });
    deployments.addListener(modelRegistryFeed(registry));

    // Act
    const result = await deployments.promote({ model: 'etfs/FEED2', version: 'v1', stage: 'STAGING', by: 'failing' });

    // Assess
    expect((await pointer('etfs/FEED2', 'STAGING')).version).toBe('v1');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/listener exploded/);
    expect((await json(MODEL_REGISTRY_KEY)).models['etfs/FEED2'].staging).toMatchObject({
      version: 'v1',
      generation: result.record.generation,
    });
  });

  it('a feed that keeps losing its compare-and-swap gives up with CONFLICT; the promotion stands', async () => {
    // Prepare: every write of model_registry.json fails as if someone else always won.
    const s3 = stack.server.s3!;
    s3.injectFault({
      match: (r) => r.method === 'PUT' && r.key === MODEL_REGISTRY_KEY,
      kind: 'status',
      status: 412,
      code: 'PreconditionFailed',
    });
    const before = (await stack.server.runtime.store.head(MODEL_REGISTRY_KEY))!.etag;
    const warnings: string[] = [];
    const { registry, deployments } = separateProcess({ warnings });
    deployments.addListener(modelRegistryFeed(registry, { maxAttempts: 3 }));
    s3.resetRequests();

    // Act
    const result = await deployments.promote({ model: 'etfs/FEED3', version: 'v1', stage: 'STAGING', by: 'conflict' });
    const direct = updateModelRegistry(registry, result, { maxAttempts: 2 });

    // Assess
    await expect(direct).rejects.toMatchObject({ code: 'CONFLICT' });
    s3.clearFaults();
    expect(s3.count({ method: 'PUT', key: MODEL_REGISTRY_KEY })).toBe(3 + 2);
    expect((await pointer('etfs/FEED3', 'STAGING')).version).toBe('v1');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/model_registry\.json kept changing/);
    expect((await stack.server.runtime.store.head(MODEL_REGISTRY_KEY))!.etag).toBe(before);
    // The history feed is a separate document and was updated.
    expect((await json(DEPLOYMENT_HISTORY_KEY)).deployments.at(-1).id).toBe(result.record.id);
  });

  it('an older shape of model_registry.json is replaced by the object form, rebuilt from every pointer', async () => {
    // Prepare: what the old demo seed wrote.
    await stack.server.runtime.store.put(
      MODEL_REGISTRY_KEY,
      JSON.stringify({ models: [{ model: 'etfs/SPY', version: 'v1.0.0' }], note: 'informational' }),
    );

    // Act
    await stack.server.runtime.deployments.promote({
      model: 'etfs/FEED4',
      version: 'v1',
      stage: 'STAGING',
      by: 'legacy',
    });

    // Assess: the moved model, and models that did not move, with their current pointers; other fields kept.
    const doc = await json(MODEL_REGISTRY_KEY);
    expect(doc.note).toBe('informational');
    expect(doc.models['etfs/FEED4']).toMatchObject({
      production: { version: 'v2', generation: 1 },
      staging: { version: 'v1', generation: 1, promoted_by: 'legacy' },
    });
    const spy = await pointer('etfs/SPY');
    expect(doc.models['etfs/SPY'].production).toEqual({
      version: spy.version,
      generation: spy.generation,
      promoted_at: spy.promoted_at,
      promoted_by: spy.promoted_by,
    });
    expect(doc.models['experimental/momentum_v2']).toMatchObject({
      type: 'EXPERIMENTAL',
      production: null,
      staging: { version: 'v0.1.0' },
    });
    // FEED1's staging entry came from synthetic moves with no pointer behind them: a rebuild has only its real production pointer.
    expect(doc.models['etfs/FEED1']).toMatchObject({ production: { version: 'v2', generation: 1 }, staging: null });
    const read = await stack.gql(`{ modelRegistry { model { id } stagingVersion } }`);
    expect(read.data!.modelRegistry).toContainEqual({ model: { id: 'etfs/FEED4' }, stagingVersion: 'v1' });
  });

  it('the feed keeps the newest 1,000 deployments; recentDeployments answers at most 500, newest first', async () => {
    // Prepare: a full feed of old deployments.
    const old: DeploymentRecord[] = Array.from({ length: 1_000 }, (_, i) => ({
      id: `old-${i}`,
      model: 'etfs/FEED5',
      stage: 'STAGING',
      action: 'PROMOTE',
      from: null,
      to: 'v1',
      by: 'history',
      at: new Date(Date.parse('2021-01-01T00:00:00Z') + i * 60_000).toISOString(),
      reason: null,
      generation: i + 1,
    }));
    await stack.server.runtime.store.put(DEPLOYMENT_HISTORY_KEY, JSON.stringify({ deployments: old, kept: 'yes' }));

    // Act
    const moved = await stack.server.runtime.deployments.promote({
      model: 'etfs/FEED5',
      version: 'v1',
      stage: 'STAGING',
      by: 'full',
    });

    // Assess: the oldest went, the new one is last, other fields kept …
    const feed = await json(DEPLOYMENT_HISTORY_KEY);
    expect(feed.kept).toBe('yes');
    expect(feed.deployments).toHaveLength(1_000);
    expect(feed.deployments[0].id).toBe('old-1');
    expect(feed.deployments.at(-1).id).toBe(moved.record.id);
    // … and the query is bounded to 500, newest first.
    const read = await stack.gql(`{ recentDeployments(first: 600) { id } }`);
    expect(read.errors).toBeUndefined();
    const ids = read.data!.recentDeployments.map((d: { id: string }) => d.id);
    expect(ids).toHaveLength(500);
    expect(ids.slice(0, 3)).toEqual([moved.record.id, 'old-999', 'old-998']);
  });
});
