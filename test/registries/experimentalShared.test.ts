import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { DEMO_EXPERIMENTAL_MODEL, DEMO_SHARED_FILES } from '../../src/local/demoExtras';
import { demoAssetRegistry } from '../../src/local/demoSeed';
import { pushVersion } from '../../src/release/pushVersion';
import { listAssets } from '../../src/registry/assetRegistry';
import { parseAssetRegistration } from '../../src/registry/assetRegistration';
import { ASSET_REGISTRY_KEY, MODEL_REGISTRY_KEY, stagePointerKey } from '../../src/registry/bucketLayout';
import { modelTypeOf, parseModelId } from '../../src/registry/identifiers';
import { startTestStack, type TestStack } from '../support/stack';
import { FEATURES, LABELS, smallModel } from '../writePath/support';

describe('experimental/ models: listed and staged, never served to production', () => {
  let stack: TestStack;
  const json = async (key: string) => JSON.parse((await stack.server.runtime.store.get(key)).body.toString('utf8'));

  beforeAll(async () => {
    stack = await startTestStack();
    await pushVersion(stack.server.runtime, {
      model: DEMO_EXPERIMENTAL_MODEL,
      version: 'v0.2.0',
      files: {
        'model.onnx': Buffer.from(smallModel({ seed: 77 })),
        'feature_names.json': Buffer.from(JSON.stringify(FEATURES)),
      },
      description: { strategies: LABELS },
    });
  });
  afterAll(() => stack?.close());

  it('experimental/{name} is a model id of type EXPERIMENTAL with the family name rule', () => {
    expect(modelTypeOf('experimental/momentum_v2')).toBe('EXPERIMENTAL');
    for (const bad of [
      'experimental/Momentum',
      'experimental/a/b',
      'experimental/',
      'experimental/..',
      'experimental/_x',
    ]) {
      expect(modelTypeOf(bad), bad).toBeUndefined();
    }
    expect(() => parseModelId('experimental/a b')).toThrow(/experimental\/\{name\}/);
  });

  it('is listed with type EXPERIMENTAL, its staging version and no production', async () => {
    // Act
    const res = await stack.gql(`{
      models(type: EXPERIMENTAL) { id type production { version } staging { version } versions { version } }
      all: models { id }
    }`);

    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.models).toEqual([
      {
        id: DEMO_EXPERIMENTAL_MODEL,
        type: 'EXPERIMENTAL',
        production: null,
        staging: { version: 'v0.1.0' },
        versions: [{ version: 'v0.1.0' }, { version: 'v0.2.0' }],
      },
    ]);
    expect(res.data!.all.map((m: { id: string }) => m.id)).toContain(DEMO_EXPERIMENTAL_MODEL);
  });

  it('may be promoted to staging', async () => {
    // Act
    const res = await stack.gqlAsWriter(
      `mutation { promote(model: "${DEMO_EXPERIMENTAL_MODEL}", version: "v0.2.0", stage: STAGING) { toVersion fromVersion stage } }`,
    );

    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.promote).toEqual({ toVersion: 'v0.2.0', fromVersion: 'v0.1.0', stage: 'STAGING' });
    expect((await json(stagePointerKey(DEMO_EXPERIMENTAL_MODEL, 'STAGING'))).version).toBe('v0.2.0');
    expect((await json(MODEL_REGISTRY_KEY)).models[DEMO_EXPERIMENTAL_MODEL]).toMatchObject({
      type: 'EXPERIMENTAL',
      production: null,
      staging: { version: 'v0.2.0' },
    });
  });

  it('refuses production promotion and rollback with BAD_USER_INPUT and writes nothing', async () => {
    // Prepare
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const promoted = await stack.gqlAsWriter(
      `mutation { promote(model: "${DEMO_EXPERIMENTAL_MODEL}", version: "v0.2.0") { id } }`,
    );
    const rolledBack = await stack.gqlAsWriter(
      `mutation { rollback(model: "${DEMO_EXPERIMENTAL_MODEL}", to: "v0.1.0") { id } }`,
    );
    const direct = stack.server.runtime.deployments.promote({
      model: DEMO_EXPERIMENTAL_MODEL,
      version: 'v0.1.0',
      stage: 'PRODUCTION',
      by: 'test',
    });

    // Assess
    for (const res of [promoted, rolledBack]) {
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(res.errors?.[0].message).toMatch(/experimental model: it may be promoted to staging, never to production/);
    }
    await expect(direct).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(s3.count({ method: 'PUT' })).toBe(0);
    expect(
      await stack.server.runtime.store.head(stagePointerKey(DEMO_EXPERIMENTAL_MODEL, 'PRODUCTION')),
    ).toBeUndefined();
    const model = await stack.gql(`{ model(id: "${DEMO_EXPERIMENTAL_MODEL}") { production { version } } }`);
    expect(model.data!.model).toEqual({ production: null });
  });

  it('no asset may use it: registerAsset refuses with BAD_USER_INPUT, a hand-edited registry is INVALID_MODEL', async () => {
    // Prepare
    const before = (await stack.server.runtime.store.head(ASSET_REGISTRY_KEY))!.etag;
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const res = await stack.gqlAsWriter(
      `mutation { registerAsset(ticker: "MOMO", kind: STOCK, usesModel: "${DEMO_EXPERIMENTAL_MODEL}") { ticker } }`,
    );

    // Assess
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'usesModel' });
    expect(res.errors?.[0].message).toMatch(/may not use an experimental model/);
    expect(s3.count({ method: 'PUT' })).toBe(0);
    expect((await stack.server.runtime.store.head(ASSET_REGISTRY_KEY))!.etag).toBe(before);
    expect(() => parseAssetRegistration({ ticker: 'SPY', kind: 'ETF', usesModel: DEMO_EXPERIMENTAL_MODEL })).toThrow(
      /experimental/,
    );

    // A registry that names one, by uses_model or by model_path, is refused as a whole, like any bad model id.
    const viaUses = demoAssetRegistry();
    viaUses.stocks.supported_tickers.AAPL.uses_model = DEMO_EXPERIMENTAL_MODEL;
    expect(() => listAssets(viaUses)).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringMatching(/AAPL.*experimental/) }),
    );
    const viaPath = demoAssetRegistry();
    viaPath.etfs.SPY.model_path = `${DEMO_EXPERIMENTAL_MODEL}/production/`;
    expect(() => listAssets(viaPath)).toThrow(expect.objectContaining({ code: 'INVALID_MODEL' }));
    expect(listAssets(demoAssetRegistry()).length).toBeGreaterThan(0);
  });
});

describe('shared/: listed, not served', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  const query = `query($p: String) { sharedFiles(prefix: $p) { key size lastModified } }`;

  it('lists the demo files with their sizes and times; a prefix narrows it', async () => {
    // Act
    const all = await stack.gql(query);
    const narrowed = await stack.gql(query, { p: 'feature' });
    const nothing = await stack.gql(query, { p: 'nope/' });

    // Assess
    expect(all.errors).toBeUndefined();
    const files = all.data!.sharedFiles as Array<{ key: string; size: number; lastModified: string }>;
    expect(files.map((f) => f.key)).toEqual([...DEMO_SHARED_FILES].sort());
    for (const f of files) {
      expect(f.size).toBe((await stack.server.runtime.store.head(f.key))!.size);
      expect(Math.abs(Date.now() - Date.parse(f.lastModified))).toBeLessThan(10 * 60_000);
    }
    const definitions = JSON.parse(
      (await stack.server.runtime.store.get('shared/feature_definitions.json')).body.toString('utf8'),
    );
    expect(definitions.features.map((f: { name: string }) => f.name)).toEqual(DEMO_FEATURE_NAMES);
    expect(narrowed.data!.sharedFiles.map((f: { key: string }) => f.key)).toEqual(['shared/feature_definitions.json']);
    expect(nothing.data!.sharedFiles).toEqual([]);
  });

  it('refuses hostile prefixes with BAD_USER_INPUT before anything is listed', async () => {
    // Prepare
    const s3 = stack.server.s3!;
    s3.resetRequests();
    const hostile = ['../metadata/', 'a/../../etfs', '/etc', 'x\u0000y', 'tab\there', 'x'.repeat(201), 'del\u007f'];

    // Act
    const answers = await Promise.all(hostile.map((p) => stack.gql(query, { p })));

    // Assess
    for (const [i, res] of answers.entries()) {
      expect(res.errors?.[0].extensions, hostile[i]).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'prefix' });
      expect(res.data ?? null).toBeNull();
    }
    expect(s3.requests().filter((r) => r.query.includes('list-type'))).toEqual([]);
    // The limit is 200, not less.
    const long = await stack.gql(query, { p: 'x'.repeat(200) });
    expect(long.errors).toBeUndefined();
  });

  it('follows continuation tokens and answers at most 1,000 files', async () => {
    // Prepare: 1,005 more files (two pages of S3's listing).
    const store = stack.server.runtime.store;
    const keys = Array.from({ length: 1_005 }, (_, i) => `shared/many/${String(i).padStart(4, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, 'x')));

    // Act
    const listed = await store.listObjects('shared/many/');
    const capped = await stack.gql(query, { p: 'many/' });

    // Assess
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(capped.errors).toBeUndefined();
    expect(capped.data!.sharedFiles).toHaveLength(1_000);
    expect(capped.data!.sharedFiles.at(-1)).toMatchObject({ key: keys[999], size: 1 });
  });
});
